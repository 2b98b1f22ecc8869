// kill -9 with streams in flight: a real gateway process dies mid-answer, and the reconciler
// closes every call it left open with a priced, estimated record, exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvent, closeAuditWriter, verifyAuditChains, type AuditEvent, type AuditEventInput } from '@/lib/audit';
import { parseGatehouseConfig, type GatehouseConfig } from '@/lib/config';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { GatewayLimits, postgresSpendLedger, RedisLimitStore } from '@/lib/gateway/limits';
import { budgetCounterKey } from '@/lib/gateway/limits/keys';
import { deleteRedisKeys } from '@/lib/gateway/limits/testing/fixtures';
import { periodBounds } from '@/lib/gateway/limits/periods';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '@/lib/gateway/testing';
import { mintAccessToken } from '@/lib/oauth/mint';
import type { UserIdentity } from '@/lib/oauth/identity';
import { configureTestEnvironment, createTestUser } from '@/lib/oauth/test-harness';
import { reconcileGatewayCalls } from './index';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STREAMS = 50;
const MAX_TOKENS = 1000;
// µ$ per token.
const PRICE = { input: 5, output: 25 };

let directory: string;
let configFile: string;
let config: GatehouseConfig;
let upstream: FakeAnthropic;
let child: ChildProcess | undefined;
let redisPrefix: string | undefined;
let limits: GatewayLimits | undefined;

function yaml(upstreamUrl: string): string {
  return `
gateway: { reconcile_after_seconds: 1 }
providers:
  upstream: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: 60000 }
models:
  claude-opus-5-5:
    targets: [{ provider: upstream, model: opus-upstream }]
    price: { input_per_mtok_microdollars: ${PRICE.input * 1_000_000}, output_per_mtok_microdollars: ${PRICE.output * 1_000_000} }
limits:
  budgets:
    - { scope: user, period: monthly, limit_microdollars: 1000000000 }
`;
}

/** Starts the gateway process and resolves with where it listens and which Redis prefix it counts under. */
async function startGatewayProcess(): Promise<{ url: string; redisPrefix: string }> {
  child = spawn(process.execPath, ['--import', 'tsx', 'lib/gateway/testing/gateway-process.ts', configFile], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true, // its own process group: one SIGKILL reaches it whole
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('{')) return JSON.parse(line) as { url: string; redisPrefix: string };
  }
  throw new Error('the gateway process exited before listening');
}

async function killGatewayProcess(): Promise<void> {
  const running = child!;
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => running.on('exit', (code, signal) => resolve(signal ?? code)));
  process.kill(-running.pid!, 'SIGKILL');
  expect(await exited).toBe('SIGKILL');
  child = undefined;
}

async function events(tenantId: string, type: string): Promise<AuditEvent[]> {
  const { rows } = await pool().query<{ event: AuditEvent }>('SELECT event FROM audit_events WHERE tenant_id = $1 AND event_type = $2 ORDER BY seq', [tenantId, type]);
  return rows.map((row) => row.event);
}

beforeAll(async () => {
  configureTestEnvironment();
  directory = mkdtempSync(path.join(tmpdir(), 'gatehouse-reconcile-'));
  configFile = path.join(directory, 'gatehouse.yaml');
  // Every stream stops after its first text delta and stays open: the answers are in flight.
  upstream = await startFakeAnthropic({ behaviour: { kind: 'stall', afterEvents: 4, reply: textReply('This answer never ends.') } });
  const text = yaml(upstream.url);
  writeFileSync(configFile, text);
  config = parseGatehouseConfig(text, configFile);
  process.env.GATEHOUSE_CONFIG = configFile;
});

afterAll(async () => {
  if (child) process.kill(-child.pid!, 'SIGKILL');
  await limits?.close();
  if (redisPrefix) await deleteRedisKeys(REDIS_URL, redisPrefix);
  await upstream.close();
  await closeAuditWriter();
  await closeDatabase();
  rmSync(directory, { recursive: true, force: true });
});

describe('the reconciler after kill -9', () => {
  let user: UserIdentity;

  it(`closes all ${STREAMS} streams a killed gateway had in flight with priced, estimated records`, async () => {
    const gateway = await startGatewayProcess();
    redisPrefix = gateway.redisPrefix;
    // This file's users belong to a tenant of their own, so reconciling it touches no other test's calls.
    const tenant = await db().tenant.create({ data: { slug: `reconcile-${randomBytes(4).toString('hex')}`, name: 'Reconcile test' } });
    user = await createTestUser(['member'], undefined, tenant.id);
    const { accessToken } = await mintAccessToken({ email: user.email, issuer: gateway.url });

    const streams = await Promise.all(
      Array.from({ length: STREAMS }, async () => {
        const response = await fetch(`${gateway.url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'claude-opus-5-5', max_tokens: MAX_TOKENS, stream: true, messages: [{ role: 'user', content: 'Tell me a long story.' }] }),
        });
        expect(response.status).toBe(200);
        const reader = response.body!.getReader();
        expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: message_start');
        return reader;
      }),
    );
    expect(upstream.requests).toHaveLength(STREAMS);

    await killGatewayProcess();
    await Promise.all(streams.map((reader) => reader.read().catch(() => undefined)));
    const requests = await events(user.tenantId, 'inference.request');
    expect(requests).toHaveLength(STREAMS);
    expect(await events(user.tenantId, 'inference.response')).toHaveLength(0);
    const { rows: before } = await pool().query('SELECT 1 FROM spend_entries WHERE tenant_id = $1', [user.tenantId]);
    expect(before).toHaveLength(0);

    // Older than gateway.reconcile_after_seconds (1 s): the reconciler closes them.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    limits = new GatewayLimits({ store: RedisLimitStore.connect(REDIS_URL), ledger: postgresSpendLedger, config: () => ({ config }), prefix: gateway.redisPrefix });
    expect(await reconcileGatewayCalls({ config, limits, tenantId: user.tenantId })).toEqual({ ran: true, closed: STREAMS, ledgerRepaired: 0 });

    // Each call: one response event (unknown, estimated, priced) under its call id ...
    const estimate = Number(requests[0]!.attributes?.estimated_input_tokens);
    const cost = estimate * PRICE.input + MAX_TOKENS * PRICE.output;
    expect(requests.every((request) => request.attributes?.estimated_cost_microdollars === cost)).toBe(true);
    const responses = await events(user.tenantId, 'inference.response');
    expect(responses).toHaveLength(STREAMS);
    expect(new Set(responses.map((response) => response.attributes?.call_id))).toEqual(new Set(requests.map((request) => request.event_id)));
    for (const response of responses) {
      expect(response).toMatchObject({
        outcome: 'unknown',
        actor: { user_id: user.userId },
        gen_ai: { request_model: 'claude-opus-5-5', input_tokens: estimate, output_tokens: MAX_TOKENS },
        cost: { microdollars: cost },
        error: { type: 'call_not_closed' },
        attributes: { usage_estimated: true, recorded_by: 'reconciler' },
      });
    }
    // ... one ledger entry, and the day's aggregate.
    const { rows: entries } = await pool().query<{ call_id: string; cost_microdollars: string; usage_estimated: boolean; outcome: string; recorded_by: string }>(
      'SELECT call_id, cost_microdollars::text, usage_estimated, outcome, recorded_by FROM spend_entries WHERE tenant_id = $1',
      [user.tenantId],
    );
    expect(entries).toHaveLength(STREAMS);
    expect(entries.every((entry) => entry.cost_microdollars === String(cost) && entry.usage_estimated && entry.outcome === 'unknown' && entry.recorded_by === 'reconciler')).toBe(true);
    const { rows: ledger } = await pool().query('SELECT requests, estimated_requests, cost_microdollars::text FROM spend_ledger WHERE tenant_id = $1', [user.tenantId]);
    expect(ledger).toEqual([{ requests: STREAMS, estimated_requests: STREAMS, cost_microdollars: String(STREAMS * cost) }]);

    // The budget counter took the spend once, and no reservation of the dead gateway is left.
    const counter = budgetCounterKey(gateway.redisPrefix, 'user', 'monthly', { tenantId: user.tenantId, userId: user.userId, department: user.department }, periodBounds('monthly', new Date()).start.toISOString().slice(0, 10));
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.hmget(counter, 'spent', 'reserved')).toEqual([String(STREAMS * cost), '0']);
      expect(await redis.zcard(`${counter}:held`)).toBe(0);
    } finally {
      redis.disconnect();
    }

    expect((await verifyAuditChains(pool(), { tenantId: user.tenantId })).ok).toBe(true);
    // A process start, 50 streams and a kill: generous on a busy machine.
  }, 120_000);

  it('closes nothing twice', async () => {
    expect(await reconcileGatewayCalls({ config, limits: limits!, tenantId: user.tenantId })).toEqual({ ran: true, closed: 0, ledgerRepaired: 0 });
    expect(await events(user.tenantId, 'inference.response')).toHaveLength(STREAMS);
  });

  it('completes a call whose gateway wrote only its response event, or only its ledger entry', async () => {
    const occurred_at = new Date(Date.now() - 5_000).toISOString();
    const call = (callId: string): AuditEventInput => ({
      event_id: callId,
      tenant_id: user.tenantId,
      event_type: 'inference.request',
      action: 'messages.create',
      outcome: 'success',
      occurred_at,
      trace_id: randomBytes(16).toString('hex'),
      actor: { user_id: user.userId, roles: ['member'] },
      gen_ai: { operation: 'chat', provider: 'upstream', request_model: 'claude-opus-5-5', max_tokens: 100 },
      attributes: { call_id: callId, estimated_input_tokens: 20, expected_output_tokens: 100, estimated_cost_microdollars: 2600 },
    });
    // The response was written, the ledger entry was not (the database refused it a moment).
    const answered = uuidv7();
    const request = call(answered);
    await appendAuditEvent(request);
    await appendAuditEvent({
      ...request,
      event_id: undefined,
      event_type: 'inference.response',
      gen_ai: { operation: 'chat', provider: 'upstream', request_model: 'claude-opus-5-5', input_tokens: 12, output_tokens: 7 },
      cost: { microdollars: 12 * PRICE.input + 7 * PRICE.output },
      attributes: { call_id: answered, upstream: 'upstream/opus-upstream' },
    });
    // The ledger entry was written, then the gateway died before the response event.
    const settled = uuidv7();
    await appendAuditEvent(call(settled));
    await postgresSpendLedger.record({
      callId: settled,
      traceId: randomBytes(16).toString('hex'),
      tenantId: user.tenantId,
      userId: user.userId,
      department: user.department,
      model: 'claude-opus-5-5',
      upstream: 'upstream/opus-upstream',
      at: new Date(occurred_at),
      usage: { input_tokens: 30, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      costMicrodollars: 30 * PRICE.input + 3 * PRICE.output,
      usageEstimated: false,
      outcome: 'success',
      recordedBy: 'gateway',
    });

    expect(await reconcileGatewayCalls({ config, limits: limits!, tenantId: user.tenantId })).toEqual({ ran: true, closed: 1, ledgerRepaired: 1 });
    const { rows } = await pool().query('SELECT cost_microdollars::text, usage_estimated, outcome, recorded_by FROM spend_entries WHERE call_id = $1', [answered]);
    expect(rows).toEqual([{ cost_microdollars: String(12 * PRICE.input + 7 * PRICE.output), usage_estimated: false, outcome: 'success', recorded_by: 'reconciler' }]);
    const closed = (await events(user.tenantId, 'inference.response')).find((event) => event.attributes?.call_id === settled);
    // The response says what the ledger holds: the real usage, not an estimate.
    expect(closed).toMatchObject({ outcome: 'unknown', gen_ai: { input_tokens: 30, output_tokens: 3 }, cost: { microdollars: 30 * PRICE.input + 3 * PRICE.output } });
    expect(closed?.attributes?.usage_estimated).toBeUndefined();
    expect((await verifyAuditChains(pool(), { tenantId: user.tenantId })).ok).toBe(true);
  });
});
