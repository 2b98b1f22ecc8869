// The request pipeline end to end: the unmodified Anthropic SDK against Gatehouse (served as the
// production Node server serves /v1/*) against a fake Anthropic upstream on 127.0.0.1.
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChains } from '@/lib/audit';
import { pool } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { revokeSession } from '@/lib/oauth/sessions';
import { createTestUser } from '@/lib/oauth/test-harness';
import { signAccessToken } from '@/lib/tokens';
import { DEFAULT_ANTHROPIC_TEXT, startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from './testing';
import { eventsOf, newTestTraceId, requestEventCommitted, startGateway, storedContent, tokenFor, waitForEvents, type GatewayHarness } from './pipeline-tests/harness';

const UPSTREAM_KEY = `sk-upstream-${randomUUID()}`;
process.env.GATEHOUSE_TEST_PIPELINE_KEY = UPSTREAM_KEY;

let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;
/** Per upstream request: was its trace's request event committed when the upstream got it? */
const committedFirst = new Map<string, boolean>();

function config(upstreamUrl: string): string {
  return `
providers:
  fake:
    type: anthropic
    base_url: ${upstreamUrl}
    api_key_env: GATEHOUSE_TEST_PIPELINE_KEY
    max_retries: 0
    timeout_ms: 5000
    forward_attribution: true
models:
  claude-sonnet-5-5:
    targets: [{ provider: fake, model: claude-sonnet-5-5-upstream }]
    price: { input_per_mtok_microdollars: 3000000, output_per_mtok_microdollars: 15000000 }
  claude-haiku-4-5:
    targets: [{ provider: fake, model: claude-haiku-4-5-upstream }]
`;
}

function sdk(options: { apiKey?: string; authToken?: string; traceId?: string; headers?: Record<string, string> } = {}): Anthropic {
  return new Anthropic({
    baseURL: gateway.url,
    apiKey: options.authToken ? null : (options.apiKey ?? token),
    authToken: options.authToken ?? null,
    maxRetries: 0,
    defaultHeaders: { ...(options.traceId ? { 'x-trace-id': options.traceId } : {}), ...options.headers },
  });
}

const QUESTION: Anthropic.MessageParam[] = [{ role: 'user', content: 'Say hello.' }];

beforeAll(async () => {
  upstream = await startFakeAnthropic({
    apiKey: UPSTREAM_KEY,
    // The upstream checks, from another database connection, that the evidence came first.
    onRequest: async (request) => {
      const traceId = request.headers['x-trace-id'];
      // Messages only: count_tokens is not billed and writes no inference events.
      if (traceId && request.path === '/v1/messages') committedFirst.set(traceId, await requestEventCommitted(traceId));
    },
  });
  gateway = await startGateway(config(upstream.url), 'pipeline');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  // Every event this file wrote is on the tenant's chain, and the chain still verifies.
  const report = await verifyAuditChains(pool(), { tenantId: user.tenantId });
  await upstream.close();
  await gateway.close();
  expect(report.ok).toBe(true);
});

describe('POST /v1/messages through the Anthropic SDK', () => {
  it('answers a non-streaming request and leaves request and response events with cost', async () => {
    const traceId = newTestTraceId();
    upstream.setBehaviour({ kind: 'reply' });
    const { data, response } = await sdk({ traceId }).messages.create({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: QUESTION }).withResponse();
    expect(data.content).toEqual([{ type: 'text', text: DEFAULT_ANTHROPIC_TEXT }]);
    expect(response.headers.get('x-trace-id')).toBe(traceId);
    expect(response.headers.get('x-policy-version')).toMatch(/^pv_[0-9a-f]{16}$/);
    // The upstream's own org-wide rate-limit headers never reach the user.
    expect([...response.headers.keys()].some((name) => name.startsWith('anthropic-ratelimit-'))).toBe(false);

    const seen = upstream.requests.at(-1)!;
    expect(seen.body).toMatchObject({ model: 'claude-sonnet-5-5-upstream', max_tokens: 64, messages: QUESTION });
    expect(seen.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(seen.headers.authorization).toBeUndefined();
    expect(committedFirst.get(traceId)).toBe(true);

    const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
    const request = events.find((event) => event.event_type === 'inference.request')!;
    const answer = events.find((event) => event.event_type === 'inference.response')!;
    expect(request).toMatchObject({
      outcome: 'success',
      tenant_id: user.tenantId,
      actor: { user_id: user.userId, email: user.email },
      policy: { decision: 'allow' },
      gen_ai: { operation: 'chat', provider: 'fake', request_model: 'claude-sonnet-5-5', max_tokens: 64, stream: false },
      attributes: { route: 'model:claude-sonnet-5-5', 'route.targets': 'fake/claude-sonnet-5-5-upstream' },
    });
    expect(request.policy_version).toBe(response.headers.get('x-policy-version'));
    const prompt = JSON.parse((await storedContent(request.content_refs![0]!.sha256))!) as { messages: unknown };
    expect(prompt.messages).toEqual(QUESTION);

    // 12 input tokens at $3/MTok + 7 output tokens at $15/MTok = 36 + 105 microdollars.
    expect(answer).toMatchObject({
      outcome: 'success',
      cost: { microdollars: 141, currency: 'USD' },
      gen_ai: { provider: 'fake', request_model: 'claude-sonnet-5-5', response_model: 'claude-sonnet-5-5-upstream', input_tokens: 12, output_tokens: 7, finish_reasons: ['end_turn'] },
      attributes: { upstream: 'fake/claude-sonnet-5-5-upstream', status: 200, failover: false },
    });
    const completion = JSON.parse((await storedContent(answer.content_refs![0]!.sha256))!) as unknown;
    expect(completion).toEqual([{ type: 'text', text: DEFAULT_ANTHROPIC_TEXT }]);
    const { rows } = await pool().query<{ cost: string }>("SELECT cost_microdollars AS cost FROM audit_events WHERE trace_id = $1 AND event_type = 'inference.response'", [traceId]);
    expect(rows.map((row) => Number(row.cost))).toEqual([141]);
  });

  it('streams, and MessageStream.finalMessage() through Gatehouse equals the upstream’s own', async () => {
    const reply = textReply('Streaming, one piece at a time.', { id: 'msg_stream_equal', usage: { input_tokens: 30, output_tokens: 9 } });
    upstream.setBehaviour({ kind: 'reply', reply, eventDelayMs: 2 });
    const traceId = newTestTraceId();
    const viaGateway = await sdk({ traceId }).messages.stream({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: QUESTION }).finalMessage();

    const direct = new Anthropic({ baseURL: upstream.url, apiKey: UPSTREAM_KEY, maxRetries: 0 });
    const fromUpstream = await direct.messages.stream({ model: 'claude-sonnet-5-5-upstream', max_tokens: 64, messages: QUESTION }).finalMessage();
    expect(viaGateway).toEqual(fromUpstream);
    expect(viaGateway.content).toMatchObject([{ type: 'text', text: 'Streaming, one piece at a time.' }]);

    const events = await waitForEvents(traceId, ['inference.response']);
    expect(events.find((event) => event.event_type === 'inference.request')?.gen_ai?.stream).toBe(true);
    expect(events.find((event) => event.event_type === 'inference.response')).toMatchObject({
      outcome: 'success',
      gen_ai: { input_tokens: 30, output_tokens: 9, stream: true },
      cost: { microdollars: 30 * 3 + 9 * 15 },
    });
    expect(committedFirst.get(traceId)).toBe(true);
  });

  it('carries a tool-use round trip: the tool call out, the tool result back in', async () => {
    upstream.setBehaviour({ kind: 'reply', reply: toolUseReply('get_weather', { city: 'Paris' }, { preamble: 'Checking.', id: 'toolu_weather_1' }) });
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    const client = sdk();
    const first = await client.messages.stream({ model: 'claude-sonnet-5-5', max_tokens: 128, tools, messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content.find((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use')!;
    expect(call).toMatchObject({ id: 'toolu_weather_1', name: 'get_weather', input: { city: 'Paris' } });

    upstream.setBehaviour({ kind: 'reply', reply: textReply('It is sunny in Paris.') });
    const followUp: Anthropic.MessageParam[] = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '21°C, sunny' }] },
    ];
    const second = await client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 128, tools, messages: followUp });
    expect(second.content).toEqual([{ type: 'text', text: 'It is sunny in Paris.' }]);
    const seen = upstream.requests.at(-1)!.body as { tools: unknown; messages: Anthropic.MessageParam[] };
    expect(seen.tools).toEqual(tools);
    expect(seen.messages[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_weather_1', content: '21°C, sunny' }] });
  });

  it('routes on the path alone, passes unknown fields through and keeps request tags out of the upstream', async () => {
    upstream.setBehaviour({ kind: 'reply' });
    const traceId = newTestTraceId();
    const response = await fetch(`${gateway.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-trace-id': traceId, 'anthropic-beta': 'claude-code-20250219', 'x-session-id': 'cc-session-42', 'x-call-source': 'claude_code' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: QUESTION, tags: { project: 'apollo' }, context_management: { edits: [] }, safeguards: { mode: 'auto' } }),
    });
    expect(response.status).toBe(200);
    const seen = upstream.requests.at(-1)!;
    expect(seen.body).toMatchObject({ context_management: { edits: [] }, safeguards: { mode: 'auto' } });
    expect(seen.body).not.toHaveProperty('tags');
    expect(seen.headers['anthropic-beta']).toBe('claude-code-20250219');
    const [request] = await waitForEvents(traceId, ['inference.request']);
    expect(request).toMatchObject({ session_id: 'cc-session-42', call_source: 'claude_code', attributes: { 'tags.project': 'apollo' } });
  });

  it('generates a trace id when the client sends none, and records a lagging client policy version', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json', 'x-policy-version': 'pv_0123456789abcdef' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: QUESTION }),
    });
    expect(response.status).toBe(200);
    const traceId = response.headers.get('x-trace-id')!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const [request] = await waitForEvents(traceId, ['inference.request']);
    expect(request!.attributes).toMatchObject({ client_policy_version: 'pv_0123456789abcdef' });
    expect(request!.policy_version).toBe(response.headers.get('x-policy-version'));
    expect(request!.policy_version).not.toBe('pv_0123456789abcdef');
  });
});

describe('authentication', () => {
  it('turns missing, malformed, expired and foreign-audience tokens into SDK AuthenticationErrors', async () => {
    const expired = await signAccessToken({
      issuer: gateway.url,
      subject: user,
      sessionId: randomUUID(),
      clientId: 'test-client',
      audience: `${gateway.url}/v1`,
      scope: '',
      ttlSeconds: 60,
      now: new Date(Date.now() - 3_600_000),
    });
    const foreign = await tokenFor(gateway, user, `${gateway.url}/mcp/github`);
    const before = upstream.requests.length;
    const missing = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('x-should-retry')).toBe('false');
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });

    const attempts: [string, Anthropic][] = [
      ['malformed', sdk({ apiKey: 'not-a-token' })],
      ['expired', sdk({ authToken: expired.token })],
      ['wrong audience', sdk({ authToken: foreign })],
    ];
    for (const [name, client] of attempts) {
      const failure = await client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 8, messages: QUESTION }).catch((error: unknown) => error);
      expect(failure, name).toBeInstanceOf(Anthropic.AuthenticationError);
      expect((failure as InstanceType<typeof Anthropic.AuthenticationError>).headers.get('x-should-retry'), name).toBe('false');
    }
    expect(upstream.requests.length).toBe(before);
  });

  it('stops accepting a token it has seen as soon as its sign-in is revoked', async () => {
    const someone = await createTestUser(['member']);
    const minted = await mintAccessToken({ email: someone.email, issuer: gateway.url });
    const client = sdk({ authToken: minted.accessToken });
    upstream.setBehaviour({ kind: 'reply' });
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 8, messages: QUESTION });
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 8, messages: QUESTION });
    await revokeSession(minted.sessionId, 'signed_out');
    await expect(client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 8, messages: QUESTION })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });
});

describe('GET /v1/models and count_tokens', () => {
  it('lists the configured models in the Anthropic shape', async () => {
    const page = await sdk().models.list();
    expect(page.data.map((model) => model.id)).toEqual(['claude-haiku-4-5', 'claude-sonnet-5-5']);
    expect(page.data[1]).toMatchObject({ type: 'model', id: 'claude-sonnet-5-5', display_name: 'Claude Sonnet 5.5' });
    const one = await sdk().models.retrieve('claude-haiku-4-5');
    expect(one.display_name).toBe('Claude Haiku 4.5');
    await expect(sdk().models.retrieve('claude-opus-9')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('counts tokens through the route’s Anthropic upstream', async () => {
    upstream.setBehaviour({ kind: 'reply' });
    const counted = await sdk().messages.countTokens({ model: 'claude-sonnet-5-5', messages: QUESTION });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(upstream.requests.at(-1)!.path).toBe('/v1/messages/count_tokens');
  });

  it('answers unknown /v1 paths with the Anthropic 404', async () => {
    const response = await fetch(`${gateway.url}/v1/complete`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ type: 'error', error: { type: 'not_found_error', message: 'no such endpoint: POST /v1/complete' } });
  });
});

describe('evidence', () => {
  it('never let an upstream see a request before its request event was committed', () => {
    expect(committedFirst.size).toBeGreaterThan(0);
    expect([...committedFirst.values()].every(Boolean)).toBe(true);
  });

  it('writes nothing for unauthenticated calls and one request/response pair per call', async () => {
    const traceId = newTestTraceId();
    await sdk({ apiKey: 'nope', traceId }).messages.create({ model: 'claude-sonnet-5-5', max_tokens: 8, messages: QUESTION }).catch(() => undefined);
    expect(await eventsOf(traceId)).toEqual([]);
  });
});
