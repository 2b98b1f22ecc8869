// PostgreSQL timeouts as the gateway meets them: with every pooled connection busy, /v1/* answers
// 529 overloaded_error within the connect timeout instead of hanging, and /readyz never holds on
// to a connection, however often it is probed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import { startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import { handleReadyz, type ReadinessBody } from '@/lib/http/health';
import { createTestUser } from '@/lib/oauth/test-harness';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { newTestTraceId, startGateway, tokenFor, type GatewayHarness } from './harness';

const CONNECT_TIMEOUT_MS = 300;

let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let token: string;
/** A token the gateway has not seen yet: verifying it needs the database. */
let coldToken: string;
const saved = { size: process.env.GATEHOUSE_DB_POOL_SIZE, timeout: process.env.GATEHOUSE_DB_CONNECT_TIMEOUT_MS };

function config(upstreamUrl: string): string {
  return `
providers:
  fake: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: 5000 }
models:
  claude-haiku-5-5:
    targets: [{ provider: fake, model: haiku-upstream }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 5000000 }
`;
}

async function ask(path = '/v1/messages', bearer = token): Promise<{ status: number; body: { error?: { type: string; message: string } }; headers: Headers; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'x-trace-id': newTestTraceId() },
    body: JSON.stringify({ model: 'claude-haiku-5-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await response.json()) as { error?: { type: string; message: string } };
  return { status: response.status, body, headers: response.headers, ms: performance.now() - started };
}

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gateway = await startGateway(config(upstream.url), 'db-timeouts');
  const user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
  coldToken = await tokenFor(gateway, await createTestUser(['member']));
  // From here on the process has a pool of one connection that gives up waiting quickly.
  await closeAuditWriter();
  await closeDatabase();
  process.env.GATEHOUSE_DB_POOL_SIZE = '1';
  process.env.GATEHOUSE_DB_CONNECT_TIMEOUT_MS = String(CONNECT_TIMEOUT_MS);
  // Warm: the token verified once and the tenant's roles cached, as on a server already serving;
  // its response event written before the pool is taken.
  expect((await ask()).status).toBe(200);
  await drainBackgroundTasks();
});

afterAll(async () => {
  await upstream.close();
  await gateway.close();
  process.env.GATEHOUSE_DB_POOL_SIZE = saved.size;
  process.env.GATEHOUSE_DB_CONNECT_TIMEOUT_MS = saved.timeout;
  if (saved.size === undefined) delete process.env.GATEHOUSE_DB_POOL_SIZE;
  if (saved.timeout === undefined) delete process.env.GATEHOUSE_DB_CONNECT_TIMEOUT_MS;
});

describe('database pool exhaustion', () => {
  it('answers /v1/* with 529 overloaded_error within the connect timeout wherever it needs the database, then serves again', async () => {
    const held = await pool().connect();
    try {
      // Recording the request event, and authenticating a caller not in the token cache.
      for (const [path, bearer] of [['/v1/messages', token], ['/v1/messages', coldToken], ['/v1/messages/count_tokens', coldToken]] as const) {
        const refused = await ask(path, bearer);
        expect(refused.status, path).toBe(529);
        expect(refused.body.error).toEqual({ type: 'overloaded_error', message: expect.stringMatching(/overloaded.*try again/i) });
        expect(refused.headers.get('x-should-retry')).toBe('true');
        expect(refused.ms).toBeLessThan(CONNECT_TIMEOUT_MS * 5);
      }
    } finally {
      held.release();
    }
    expect((await ask()).status).toBe(200);
    await drainBackgroundTasks();
  });
});

describe('/readyz', () => {
  it('releases its connection: a hundred probes leave the single connection free', async () => {
    for (let round = 0; round < 10; round += 1) {
      const responses = await Promise.all(Array.from({ length: 10 }, () => handleReadyz(new Request('http://localhost/readyz'))));
      for (const response of responses) expect(((await response.json()) as ReadinessBody).checks.database).toMatchObject({ ok: true });
    }
    expect(pool().waitingCount).toBe(0);
    expect(pool().totalCount - pool().idleCount).toBe(0);
    const client = await pool().connect();
    client.release();
  });

  it('reports an exhausted pool as not ready within the connect timeout, not after the probe deadline', async () => {
    const held = await pool().connect();
    try {
      const started = performance.now();
      const response = await handleReadyz(new Request('http://localhost/readyz'));
      expect(response.status).toBe(503);
      const body = (await response.json()) as ReadinessBody;
      expect(body.checks.database).toMatchObject({ ok: false, error: expect.stringMatching(/no database connection free/) });
      expect(performance.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS * 5);
    } finally {
      held.release();
    }
    expect((await handleReadyz(new Request('http://localhost/readyz'))).status).not.toBe(503);
  });
});
