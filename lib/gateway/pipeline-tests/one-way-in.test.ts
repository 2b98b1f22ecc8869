// One way in (issue 7, item 14): every data-plane endpoint behind the same caller wrapper, so each
// refuses the same way (permission, spoofed identity headers, x-should-retry on 401/403), and
// refusals a client can repeat in a loop are counted into one audit event per minute.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyAuditChains, type AuditEvent } from '@/lib/audit';
import { awayFromWindowEdge } from '@/lib/audit/testing/fixtures';
import { db, pool } from '@/lib/db/client';
import { serveGateway } from '@/lib/gateway/routes';
import { readText, startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import { serveWithNodeHandler } from '@/lib/http/reply';
import type { UserIdentity } from '@/lib/oauth/identity';
import { gatewayAudience } from '@/lib/oauth/issuer';
import { mintAccessToken } from '@/lib/oauth/mint';
import { revokeSession, startSignIn } from '@/lib/oauth/sessions';
import { createTestUser, randomTestIp } from '@/lib/oauth/test-harness';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { listenOnLoopback } from '@/lib/platform/net';
import { newTestTraceId, startGateway, tokenFor, waitForEvents, type GatewayHarness } from './harness';

const COUNT_TOKENS_PER_MINUTE = 3;

function config(upstreamUrl: string): string {
  return `
providers:
  fake: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: 5000 }
models:
  claude-haiku-5-5:
    targets: [{ provider: fake, model: haiku-upstream }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 5000000 }
limits:
  count_tokens_per_minute: ${COUNT_TOKENS_PER_MINUTE}
managed_settings:
  - match: {}
    settings: { env: { CLAUDE_CODE_ENABLE_TELEMETRY: "1" } }
`;
}

let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let member: UserIdentity;
let memberToken: string;
let finance: UserIdentity;
let financeToken: string;

const ASK = { model: 'claude-haiku-5-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };
const OTLP = JSON.stringify({ resourceMetrics: [] });

interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

/** Every endpoint a bearer token reaches. */
const ENDPOINTS: Call[] = [
  { method: 'POST', path: '/v1/messages', body: JSON.stringify(ASK) },
  { method: 'POST', path: '/v1/messages/count_tokens', body: JSON.stringify(ASK) },
  { method: 'GET', path: '/v1/models' },
  { method: 'GET', path: '/v1/models/claude-haiku-5-5' },
  { method: 'GET', path: '/managed/settings' },
  { method: 'GET', path: '/api/oauth/usage' },
  { method: 'POST', path: '/v1/metrics', body: OTLP },
  { method: 'POST', path: '/v1/logs', body: JSON.stringify({ resourceLogs: [] }) },
  { method: 'POST', path: '/v1/traces', body: JSON.stringify({ resourceSpans: [] }) },
];

function call(endpoint: Call, headers: Record<string, string>): Promise<Response> {
  return fetch(`${gateway.url}${endpoint.path}`, {
    method: endpoint.method,
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    ...(endpoint.body ? { body: endpoint.body } : {}),
  });
}

/** Events written since the test began, once every counted one has been flushed (as a shutdown drain does). */
async function flushedEvents(where: string, parameters: unknown[]): Promise<AuditEvent[]> {
  await drainBackgroundTasks();
  const { rows } = await pool().query<{ event: AuditEvent }>(`SELECT event FROM audit_events WHERE ${where} ORDER BY seq`, parameters);
  return rows.map((row) => row.event);
}

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gateway = await startGateway(config(upstream.url), 'one-way-in');
  member = await createTestUser(['member']);
  memberToken = await tokenFor(gateway, member);
  finance = await createTestUser(['finance']);
  financeToken = await tokenFor(gateway, finance);
});

afterAll(async () => {
  await drainBackgroundTasks();
  const report = await verifyAuditChains(pool(), { tenantId: member.tenantId });
  await upstream.close();
  await gateway.close();
  expect(report.ok).toBe(true);
});

describe('every endpoint through one wrapper', () => {
  it('refuses a token without the permission on every endpoint: 403 with x-should-retry: false, counted into one event per user and minute', async () => {
    await awayFromWindowEdge(60_000, 15_000);
    const traceIds: string[] = [];
    for (const endpoint of ENDPOINTS) {
      const traceId = newTestTraceId();
      traceIds.push(traceId);
      const response = await call(endpoint, { authorization: `Bearer ${financeToken}`, 'x-trace-id': traceId });
      expect(response.status, endpoint.path).toBe(403);
      expect(response.headers.get('x-should-retry'), endpoint.path).toBe('false');
      expect(response.headers.get('x-trace-id'), endpoint.path).toBe(traceId);
      expect(((await response.json()) as { error: { type: string } }).error.type, endpoint.path).toBe('permission_error');
    }
    // An OTLP exporter without the permission keeps exporting: still the same one event.
    for (let index = 0; index < 40; index++) expect((await call(ENDPOINTS[6]!, { authorization: `Bearer ${financeToken}` })).status).toBe(403);
    expect(upstream.requests).toHaveLength(0);

    const events = await flushedEvents(`event_type = 'policy.decision' AND actor_user_id = $1`, [finance.userId]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      trace_id: traceIds[0],
      outcome: 'denied',
      actor: { user_id: finance.userId },
      policy: { decision: 'deny', rule: 'rbac.inference.invoke' },
      error: { status: 403 },
      attributes: { count: ENDPOINTS.length + 40, endpoint: expect.stringContaining('/v1/metrics:41') },
    });
  });

  it('refuses spoofed identity headers on every endpoint: 403 with x-should-retry: false, audited', async () => {
    for (const endpoint of ENDPOINTS) {
      const traceId = newTestTraceId();
      const response = await call(endpoint, { authorization: `Bearer ${memberToken}`, 'x-user-id': 'ceo@example.com', 'x-trace-id': traceId });
      expect(response.status, endpoint.path).toBe(403);
      expect(response.headers.get('x-should-retry'), endpoint.path).toBe('false');
      const decision = (await waitForEvents(traceId, ['policy.decision'])).find((event) => event.event_type === 'policy.decision');
      expect(decision, endpoint.path).toMatchObject({ action: 'identity.check', policy: { rule: 'identity.header_spoof' }, attributes: { header: 'x-user-id' } });
    }
  });

  it('answers a missing or dead token on every endpoint with 401 and x-should-retry: false', async () => {
    for (const endpoint of ENDPOINTS) {
      for (const headers of [{}, { authorization: 'Bearer not-a-token' }] as Record<string, string>[]) {
        const response = await call(endpoint, headers);
        expect(response.status, endpoint.path).toBe(401);
        expect(response.headers.get('x-should-retry'), endpoint.path).toBe('false');
        expect(((await response.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
      }
    }
  });

  it('accepts x-tenant-id naming the tenant by slug as well as by id, and refuses another tenant', async () => {
    const tenant = await db().tenant.findUniqueOrThrow({ where: { id: member.tenantId } });
    const messages = ENDPOINTS[0]!;
    expect((await call(messages, { authorization: `Bearer ${memberToken}`, 'x-tenant-id': tenant.slug })).status).toBe(200);
    expect((await call(messages, { authorization: `Bearer ${memberToken}`, 'x-tenant-id': tenant.slug.toUpperCase() })).status).toBe(200);
    expect((await call(messages, { authorization: `Bearer ${memberToken}`, 'x-tenant-id': tenant.id })).status).toBe(200);

    const traceId = newTestTraceId();
    const other = await call(messages, { authorization: `Bearer ${memberToken}`, 'x-tenant-id': `${tenant.slug}-other`, 'x-trace-id': traceId });
    expect(other.status).toBe(403);
    expect(other.headers.get('x-should-retry')).toBe('false');
    const decision = (await waitForEvents(traceId, ['policy.decision'])).find((event) => event.event_type === 'policy.decision');
    expect(decision).toMatchObject({ policy: { rule: 'identity.header_spoof' }, attributes: { header: 'x-tenant-id', claimed: `${tenant.slug}-other` } });
  });
});

describe('refusals a client can repeat are counted, not chained one by one', () => {
  it('writes 100 rejected tokens from one address in a minute as one event with count 100', async () => {
    const ip = randomTestIp();
    await awayFromWindowEdge(60_000, 15_000);
    for (let index = 0; index < 100; index++) {
      const response = await call(ENDPOINTS[index % 2 === 0 ? 0 : 2]!, { authorization: `Bearer forged.${index}.token`, 'x-forwarded-for': ip });
      expect(response.status).toBe(401);
    }
    const events = await flushedEvents(`event_type = 'policy.decision' AND action = 'identity.authenticate' AND event->'origin'->>'ip' = $1`, [ip]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      tenant_id: member.tenantId,
      outcome: 'denied',
      policy: { decision: 'deny', rule: 'auth.access_token' },
      error: { type: 'authentication_error', status: 401 },
      attributes: { count: 100, reason: 'malformed:100', endpoint: '/v1/messages:50,/v1/models:50' },
    });
  });

  it('counts a revoked token against its user, whatever address it comes from', async () => {
    const user = await createTestUser(['member']);
    const { accessToken: token, sessionId } = await mintAccessToken({ email: user.email, issuer: gateway.url });
    await revokeSession(sessionId, 'admin_revoked');
    await awayFromWindowEdge(60_000, 15_000);
    for (let index = 0; index < 30; index++) {
      const response = await call(ENDPOINTS[0]!, { authorization: `Bearer ${token}`, 'x-forwarded-for': randomTestIp() });
      expect(response.status).toBe(401);
      expect(response.headers.get('x-should-retry')).toBe('false');
    }
    const events = await flushedEvents(`event_type = 'policy.decision' AND action = 'identity.authenticate' AND actor_user_id = $1`, [user.userId]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: { user_id: user.userId, email: user.email }, attributes: { count: 30, reason: 'revoked:30' } });
  });

  it('writes 100 requests for models nobody configured as one event per user and minute, with the models tallied', async () => {
    const user = await createTestUser(['member']);
    const token = await tokenFor(gateway, user);
    await awayFromWindowEdge(60_000, 15_000);
    for (let index = 0; index < 100; index++) {
      const model = index < 60 ? 'gpt-imaginary' : 'claude-nonexistent-9';
      const response = await call({ method: 'POST', path: '/v1/messages', body: JSON.stringify({ ...ASK, model }) }, { authorization: `Bearer ${token}` });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: `model ${model} is not available on this gateway` } });
    }
    const events = await flushedEvents(`event_type = 'policy.decision' AND actor_user_id = $1`, [user.userId]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'inference.route',
      outcome: 'denied',
      policy: { decision: 'deny', rule: 'routing.unknown_model' },
      error: { status: 400 },
      attributes: { count: 100, model: 'gpt-imaginary:60,claude-nonexistent-9:40' },
    });
  });

  it('writes failed refreshes as one event per user (or address) and minute', async () => {
    const ip = randomTestIp();
    const user = await createTestUser(['member']);
    const signIn = await startSignIn({
      issuer: gateway.url,
      identity: user,
      client: null,
      grantType: 'cli',
      scope: '',
      audience: gatewayAudience(gateway.url),
      authTime: new Date(),
    });
    await revokeSession(signIn.sessionId, 'admin_revoked');
    const refresh = (refreshToken: string) =>
      fetch(`${gateway.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      });
    await awayFromWindowEdge(60_000, 15_000);
    for (let index = 0; index < 20; index++) {
      const unknown = await refresh(`unknown-${index}`);
      expect(unknown.status).toBe(401);
      expect(((await unknown.json()) as { error: string }).error).toBe('invalid_grant');
      expect((await refresh(signIn.body.refresh_token!)).status).toBe(401);
    }
    const anonymous = await flushedEvents(`event_type = 'auth.sign_in' AND action = 'token.refresh' AND outcome = 'denied' AND event->'origin'->>'ip' = $1 AND actor_user_id IS NULL`, [ip]);
    expect(anonymous).toHaveLength(1);
    expect(anonymous[0]!.attributes).toMatchObject({ count: 20, grant_type: 'refresh_token:20', reason: 'unknown refresh token:20' });
    const known = await flushedEvents(`event_type = 'auth.sign_in' AND action = 'token.refresh' AND outcome = 'denied' AND actor_user_id = $1`, [user.userId]);
    expect(known).toHaveLength(1);
    expect(known[0]!.attributes).toMatchObject({ count: 20, reason: 'the sign-in has been revoked:20' });
  });
});

describe('count_tokens', () => {
  it('is rate limited per user with a counter of its own, and the refusals are counted', async () => {
    const user = await createTestUser(['member']);
    const token = await tokenFor(gateway, user);
    await awayFromWindowEdge(60_000, 15_000);
    const before = upstream.requests.filter((request) => request.path === '/v1/messages/count_tokens').length;
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let index = 0; index < COUNT_TOKENS_PER_MINUTE + 2; index++) {
      const response = await call(ENDPOINTS[1]!, { authorization: `Bearer ${token}` });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited!.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('count_tokens') } });
    expect(upstream.requests.filter((request) => request.path === '/v1/messages/count_tokens').length - before).toBe(COUNT_TOKENS_PER_MINUTE);
    // Messages keep their own budget of requests.
    expect((await call(ENDPOINTS[0]!, { authorization: `Bearer ${token}` })).status).toBe(200);

    const events = await flushedEvents(`event_type = 'policy.decision' AND actor_user_id = $1`, [user.userId]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'limits.admit', policy: { rule: 'limits.count_tokens_per_minute' }, attributes: { count: 2 } });
  });
});

describe('a client that leaves mid-upload', () => {
  let server: Server;
  let url: URL;
  const answered: { path: string; status: number; body: string }[] = [];

  beforeAll(async () => {
    // The production Node-native serving and gateway router, with what they answered kept for the test.
    server = createServer((req, res) => {
      void serveWithNodeHandler(req, res, async (request) => {
        const reply = await serveGateway(request);
        // A streamed body is read once, by the client: only whole bodies are kept for the test.
        const whole = reply instanceof Response || reply.body === null || reply.body instanceof Uint8Array;
        const body = reply instanceof Response ? await reply.clone().text() : whole ? await readText(reply.body ?? new Uint8Array(0)) : '(streamed to the client)';
        answered.push({ path: request.path, status: reply.status, body });
        return reply;
      });
    });
    url = new URL(await listenOnLoopback(server));
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Sends the headers and part of a body, then closes the connection. */
  function abortMidBody(path: string, contentType: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        // The gateway's Host: the token was minted for its audience.
        socket.write(`POST ${path} HTTP/1.1\r\nHost: ${new URL(gateway.url).host}\r\nAuthorization: Bearer ${memberToken}\r\nContent-Type: ${contentType}\r\nContent-Length: 100000\r\n\r\n{"model": "claude-haiku-5-5", "messages": [`);
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
  }

  it('is answered 400 invalid_request_error, not 500, and is not logged as a Gatehouse failure', async () => {
    const errors = vi.spyOn(console, 'error');
    try {
      for (const [path, type] of [
        ['/v1/messages', 'application/json'],
        ['/v1/messages/count_tokens', 'application/json'],
        ['/v1/metrics', 'application/json'],
      ] as const) {
        await abortMidBody(path, type);
        const deadline = Date.now() + 5_000;
        while (!answered.some((answer) => answer.path === path) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        const answer = answered.find((entry) => entry.path === path);
        expect(answer, path).toMatchObject({ status: 400 });
        expect(JSON.parse(answer!.body), path).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      }
      expect(errors.mock.calls.filter((args) => String(args[0]).includes('failed'))).toEqual([]);
    } finally {
      errors.mockRestore();
    }
  });
});
