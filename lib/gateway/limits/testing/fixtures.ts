// Test support for the limits (imported by tests and the child process of the shared-Redis test).
import { randomBytes, randomUUID } from 'node:crypto';
import { parseGatehouseConfig, type GatehouseConfig } from '@/lib/config';
import type { GatewayCaller, RouteDecision } from '@/lib/gateway/contracts';
import type { Principal } from '@/lib/tokens';

/** A config with one priced model ($1 per million tokens in and out), plus the given YAML sections. */
export function limitsConfig(sections: string): GatehouseConfig {
  return parseGatehouseConfig(
    `
providers:
  local: { type: openai_compatible, base_url: 'http://127.0.0.1:9' }
models:
  test-model:
    targets: [{ provider: local, model: test-upstream }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 1000000 }
${sections}`,
    'gatehouse.yaml',
  );
}

export function testPrincipal(overrides: Partial<Principal> = {}): Principal {
  const now = new Date();
  return {
    userId: randomUUID(),
    email: `limits-${randomBytes(4).toString('hex')}@example.com`,
    tenantId: randomUUID(),
    department: 'engineering',
    roles: ['member'],
    sessionId: randomUUID(),
    clientId: 'test-client',
    audience: 'http://127.0.0.1/v1',
    scopes: [],
    tokenId: randomUUID(),
    issuer: 'http://127.0.0.1',
    issuedAt: now,
    expiresAt: new Date(now.getTime() + 900_000),
    ...overrides,
  };
}

export function testCaller(principal: Principal): GatewayCaller {
  return { principal, traceId: randomBytes(16).toString('hex'), sessionId: null, callSource: null, clientId: principal.clientId, policyVersion: 'pv_test' };
}

export function testDecision(overrides: Partial<RouteDecision> = {}): RouteDecision {
  return {
    requestedModel: 'test-model',
    routeName: 'model:test-model',
    targets: [{ provider: 'local', providerType: 'openai_compatible', baseUrl: 'http://127.0.0.1:9', model: 'test-upstream' }],
    ...overrides,
  };
}

/** Removes a test's counters (budget counters would otherwise linger until their period ends). */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}
