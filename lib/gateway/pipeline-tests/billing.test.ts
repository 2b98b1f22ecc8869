// Billing end to end: every answered call is priced and in the ledger, from the usage the
// upstream reported or, when it never did, from an estimate of what was sent and produced,
// marked as such; tokens per minute count what a request may use; server-tool fees are priced.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChains, type AuditEvent } from '@/lib/audit';
import { pool } from '@/lib/db/client';
import { drainBackgroundTasks, pendingBackgroundTasks } from '@/lib/platform/background';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { resetCircuitBreakers } from '@/lib/gateway/upstreams';
import { startFakeAnthropic, startFakeOpenAI, textReply, type FakeAnthropic, type FakeOpenAI } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, tokenFor, waitForEvents, type GatewayHarness } from './harness';

// µ$ per token: 5 in, 25 out (claude-opus-5-5); 2 in, 10 out (the in-house model).
const OPUS = { input: 5, output: 25 };
const INHOUSE = { input: 2, output: 10 };
const WEB_SEARCH_MICRODOLLARS = 10_000;
const TPM_LIMITED = `tpm-limited-${randomBytes(3).toString('hex')}`;
const SMALL_BUDGET = `small-budget-${randomBytes(3).toString('hex')}`;

let anthropic: FakeAnthropic;
let openai: FakeOpenAI;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;

function config(): string {
  return `
providers:
  anthropic: { type: anthropic, base_url: ${anthropic.url}, max_retries: 0, timeout_ms: 5000 }
  inhouse: { type: openai_compatible, base_url: ${openai.url}/v1, max_retries: 0, timeout_ms: 5000 }
models:
  claude-opus-5-5:
    targets: [{ provider: anthropic, model: opus-upstream }]
    price: { input_per_mtok_microdollars: ${OPUS.input * 1_000_000}, output_per_mtok_microdollars: ${OPUS.output * 1_000_000}, web_search_per_thousand_microdollars: ${WEB_SEARCH_MICRODOLLARS * 1000} }
  qwen-inhouse:
    targets: [{ provider: inhouse, model: qwen3 }]
    price: { input_per_mtok_microdollars: ${INHOUSE.input * 1_000_000}, output_per_mtok_microdollars: ${INHOUSE.output * 1_000_000} }
policy:
  # Web search runs at the provider: allowed here so its fee can be billed.
  upstream_features: { allow_server_tools: [web_search] }
limits:
  rate:
    - { scope: user, match: { department: ${TPM_LIMITED} }, tokens_per_minute: 2000 }
  budgets:
    - { scope: user, match: { department: ${SMALL_BUDGET} }, period: daily, limit_microdollars: 20000 }
`;
}

function post(traceId: string, body: Record<string, unknown>, options: { signal?: AbortSignal; bearer?: string } = {}): Promise<Response> {
  return fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${options.bearer ?? token}`, 'content-type': 'application/json', 'x-trace-id': traceId },
    body: JSON.stringify({ max_tokens: 4096, messages: [{ role: 'user', content: 'Tell me something.' }], ...body }),
    signal: options.signal,
  });
}

function eventOf(events: AuditEvent[], type: string): AuditEvent {
  const event = events.find((candidate) => candidate.event_type === type);
  if (!event) throw new Error(`no ${type} event among ${events.map((e) => e.event_type).join(', ')}`);
  return event;
}

interface LedgerEntry {
  input_tokens: string;
  output_tokens: string;
  web_search_requests: number;
  cost_microdollars: string;
  usage_estimated: boolean;
  outcome: string;
  recorded_by: string;
  upstream: string | null;
}

async function ledgerEntry(callId: string): Promise<LedgerEntry | undefined> {
  const { rows } = await pool().query<LedgerEntry>(
    `SELECT input_tokens::text, output_tokens::text, web_search_requests, cost_microdollars::text, usage_estimated, outcome, recorded_by, upstream
       FROM spend_entries WHERE call_id = $1`,
    [callId],
  );
  return rows[0];
}

/** The request and response events of a call, once the response (written after the answer) is there. */
async function closedCall(traceId: string): Promise<{ request: AuditEvent; response: AuditEvent; callId: string }> {
  const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
  const request = eventOf(events, 'inference.request');
  const response = eventOf(events, 'inference.response');
  expect(response.attributes?.call_id).toBe(request.event_id);
  expect(request.attributes?.call_id).toBe(request.event_id);
  return { request, response, callId: request.event_id };
}

beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  openai = await startFakeOpenAI();
  gateway = await startGateway(config(), 'billing');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  const report = await verifyAuditChains(pool(), { tenantId: user.tenantId });
  await anthropic.close();
  await openai.close();
  await gateway.close();
  expect(report.ok).toBe(true);
});

describe('an answered call is never free', () => {
  it('bills a client that leaves after the last text delta, before message_delta, by what was streamed', async () => {
    resetCircuitBreakers();
    // 60 bytes of text: 20 output tokens at 3 bytes a token (the upstream counted 20 too, but its
    // message_delta never reached us; message_start said 12 input and 1 output token).
    const text = 'The quick brown fox jumps over the lazy dog, twice or thrice';
    expect(Buffer.byteLength(text)).toBe(60);
    // message_start, content_block_start, ping, three text deltas: then silence.
    anthropic.setBehaviour({ kind: 'stall', afterEvents: 6, reply: textReply(text, { usage: { input_tokens: 12, output_tokens: 20 } }) });
    const traceId = newTestTraceId();
    const controller = new AbortController();
    const response = await post(traceId, { model: 'claude-opus-5-5', stream: true }, { signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let seen = '';
    while ((seen.match(/"text_delta"/g) ?? []).length < 3) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();

    const { response: answer, callId } = await closedCall(traceId);
    const cost = 12 * OPUS.input + 20 * OPUS.output;
    expect(answer).toMatchObject({
      outcome: 'unknown',
      gen_ai: { input_tokens: 12, output_tokens: 20 },
      cost: { microdollars: cost },
      attributes: { usage_estimated: true, client_disconnected: true },
    });
    expect(await ledgerEntry(callId)).toEqual({
      input_tokens: '12',
      output_tokens: '20',
      web_search_requests: 0,
      cost_microdollars: String(cost),
      usage_estimated: true,
      outcome: 'unknown',
      recorded_by: 'gateway',
      upstream: 'anthropic/opus-upstream',
    });
  });

  it('prices an OpenAI-compatible stream that ignores stream_options.include_usage, reasoning included, and marks it estimated', async () => {
    resetCircuitBreakers();
    const content = 'x'.repeat(90); // 30 tokens
    const reasoning = 'r'.repeat(30); // 10 tokens: never relayed, still billed
    openai.setBehaviour({ kind: 'reply', reply: { content, reasoning, omitUsage: true } });
    const traceId = newTestTraceId();
    const response = await post(traceId, { model: 'qwen-inhouse', stream: true });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('event: message_stop');
    const upstreamCall = openai.requests.find((request) => request.headers['x-trace-id'] === traceId) ?? openai.requests.at(-1)!;
    expect((upstreamCall.body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });

    const { request, response: answer, callId } = await closedCall(traceId);
    const input = Number(request.attributes?.estimated_input_tokens);
    expect(input).toBeGreaterThan(0);
    const cost = input * INHOUSE.input + 40 * INHOUSE.output;
    expect(answer).toMatchObject({ outcome: 'success', gen_ai: { input_tokens: input, output_tokens: 40 }, cost: { microdollars: cost }, attributes: { usage_estimated: true } });
    expect(await ledgerEntry(callId)).toMatchObject({ output_tokens: '40', cost_microdollars: String(cost), usage_estimated: true, outcome: 'success' });
  });

  it('prices a non-streaming answer without usage, and one with usage exactly', async () => {
    resetCircuitBreakers();
    openai.setBehaviour({ kind: 'reply', reply: { content: 'y'.repeat(30), omitUsage: true } });
    const estimated = newTestTraceId();
    expect((await post(estimated, { model: 'qwen-inhouse' })).status).toBe(200);
    const first = await closedCall(estimated);
    expect(first.response).toMatchObject({ gen_ai: { output_tokens: 10 }, attributes: { usage_estimated: true } });
    expect(await ledgerEntry(first.callId)).toMatchObject({ output_tokens: '10', usage_estimated: true });

    openai.setBehaviour({ kind: 'reply', reply: { content: 'z', usage: { prompt_tokens: 15, completion_tokens: 9 } } });
    const reported = newTestTraceId();
    expect((await post(reported, { model: 'qwen-inhouse' })).status).toBe(200);
    const second = await closedCall(reported);
    expect(second.response.attributes?.usage_estimated).toBeUndefined();
    expect(await ledgerEntry(second.callId)).toMatchObject({ input_tokens: '15', output_tokens: '9', cost_microdollars: String(15 * INHOUSE.input + 9 * INHOUSE.output), usage_estimated: false });
  });

  it('prices a stream or a JSON answer whose upstream dies after its 200 at the estimate, and bills nothing for an upstream refusal', async () => {
    resetCircuitBreakers();
    const text = 'abc'.repeat(10); // 30 bytes: 10 tokens
    anthropic.setBehaviour({ kind: 'die', afterEvents: 6, reply: textReply(text) });
    const died = newTestTraceId();
    expect(await (await post(died, { model: 'claude-opus-5-5', stream: true })).text()).toContain('event: error');
    const call = await closedCall(died);
    expect(call.response).toMatchObject({ outcome: 'failure', gen_ai: { input_tokens: 12, output_tokens: 10 }, attributes: { usage_estimated: true } });
    expect(await ledgerEntry(call.callId)).toMatchObject({ output_tokens: '10', usage_estimated: true, outcome: 'failure' });

    // A JSON answer that breaks after the 200 showed nothing of what was produced: billed as a
    // call nobody saw end, the prompt estimate and all of max_tokens.
    anthropic.setBehaviour({ kind: 'die', afterEvents: 0, reply: textReply(text) });
    const broken = newTestTraceId();
    expect((await post(broken, { model: 'claude-opus-5-5', max_tokens: 300 })).status).toBe(502);
    const half = await closedCall(broken);
    const estimate = Number(half.request.attributes?.estimated_input_tokens);
    expect(half.response).toMatchObject({ outcome: 'failure', gen_ai: { input_tokens: estimate, output_tokens: 300 }, cost: { microdollars: estimate * OPUS.input + 300 * OPUS.output } });
    expect(await ledgerEntry(half.callId)).toMatchObject({ output_tokens: '300', usage_estimated: true, outcome: 'failure' });

    anthropic.setBehaviour({ kind: 'error', status: 400, errorType: 'invalid_request_error', message: 'messages: bad' });
    const refused = newTestTraceId();
    expect((await post(refused, { model: 'claude-opus-5-5' })).status).toBe(400);
    const refusal = await closedCall(refused);
    expect(refusal.response.cost).toBeUndefined();
    expect(await ledgerEntry(refusal.callId)).toBeUndefined();
  });
});

describe('leaving early is never free', () => {
  it('bills a non-streaming request the client abandons before the answer as a call nobody saw end', async () => {
    resetCircuitBreakers();
    // The upstream works on it for a while; the client gives up just before the answer.
    anthropic.setBehaviour({ kind: 'reply', reply: textReply('A long considered answer.'), latencyMs: 1_500 });
    const traceId = newTestTraceId();
    const controller = new AbortController();
    const pending = post(traceId, { model: 'claude-opus-5-5', max_tokens: 200 }, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 400));
    controller.abort();
    await expect(pending).rejects.toThrow();
    const call = await closedCall(traceId);
    const estimate = Number(call.request.attributes?.estimated_input_tokens);
    expect(call.response).toMatchObject({
      outcome: 'unknown',
      gen_ai: { input_tokens: estimate, output_tokens: 200 },
      cost: { microdollars: estimate * OPUS.input + 200 * OPUS.output },
      attributes: { usage_estimated: true, client_disconnected: true },
    });
    expect(await ledgerEntry(call.callId)).toMatchObject({ output_tokens: '200', usage_estimated: true, outcome: 'unknown' });
  });
});

describe('nothing after the answer is lost', () => {
  it('tracks settling and the response event as background work that shutdown drains', async () => {
    resetCircuitBreakers();
    expect(await drainBackgroundTasks(10_000)).toBe(0);
    anthropic.setBehaviour({ kind: 'stall', afterEvents: 4, reply: textReply('Still thinking about it.') });
    const traceId = newTestTraceId();
    const controller = new AbortController();
    const response = await post(traceId, { model: 'claude-opus-5-5', stream: true }, { signal: controller.signal });
    await response.body!.getReader().read();
    // While the answer streams, its settlement waits in the registry shutdown drains.
    expect(pendingBackgroundTasks()).toBe(1);
    controller.abort();
    // Drained: the ledger entry and the response event are committed, with no polling.
    expect(await drainBackgroundTasks(10_000)).toBe(0);
    const { rows } = await pool().query<{ event: AuditEvent }>("SELECT event FROM audit_events WHERE trace_id = $1 AND event_type = 'inference.response'", [traceId]);
    expect(rows).toHaveLength(1);
    expect(await ledgerEntry(String(rows[0]!.event.attributes?.call_id))).toMatchObject({ usage_estimated: true, outcome: 'unknown' });
  });
});

describe('admission counts what a request can cost', () => {
  it('admits at most what fits when 100 requests with max_tokens 100,000 arrive at once under 2,000 tokens per minute', async () => {
    resetCircuitBreakers();
    anthropic.setBehaviour({ kind: 'reply', reply: textReply('ok', { usage: { input_tokens: 10, output_tokens: 1 } }) });
    const limited = await createTestUser(['member'], TPM_LIMITED);
    const bearer = await tokenFor(gateway, limited);
    const answers = await Promise.all(Array.from({ length: 100 }, () => post(newTestTraceId(), { model: 'claude-opus-5-5', max_tokens: 100_000 }, { bearer })));
    const statuses = answers.map((answer) => answer.status);
    await Promise.all(answers.map((answer) => answer.body?.cancel()));
    // Each could use over 100,000 tokens: only a lone one passes, into an empty window.
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 429)).toHaveLength(99);
  });

  it('prices web searches the upstream ran, and reserves the ones a request allows', async () => {
    resetCircuitBreakers();
    anthropic.setBehaviour({ kind: 'reply', reply: textReply('Found it.', { usage: { input_tokens: 100, output_tokens: 10, server_tool_use: { web_search_requests: 2 } } }) });
    const traceId = newTestTraceId();
    const response = await post(traceId, { model: 'claude-opus-5-5', max_tokens: 100, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }] });
    expect(response.status).toBe(200);
    const { request, response: answer, callId } = await closedCall(traceId);
    const cost = 100 * OPUS.input + 10 * OPUS.output + 2 * WEB_SEARCH_MICRODOLLARS;
    expect(answer).toMatchObject({ cost: { microdollars: cost }, attributes: { web_search_requests: 2 } });
    expect(await ledgerEntry(callId)).toMatchObject({ web_search_requests: 2, cost_microdollars: String(cost) });
    // The reservation held the prompt estimate, all of max_tokens and the three searches allowed.
    const estimate = Number(request.attributes?.estimated_input_tokens);
    expect(request.attributes?.reserved_microdollars).toBe(estimate * OPUS.input + 100 * OPUS.output + 3 * WEB_SEARCH_MICRODOLLARS);
  });

  it('re-checks the cap at settle: a call that costs more than it reserved marks the budget it passed, and the next request is refused', async () => {
    resetCircuitBreakers();
    const spender = await createTestUser(['member'], SMALL_BUDGET);
    const bearer = await tokenFor(gateway, spender);
    // Reserved: the prompt, 10 output tokens and the one search allowed (about 10,400 µ$ of 20,000);
    // the upstream ran two searches anyway: 20,750 µ$.
    anthropic.setBehaviour({ kind: 'reply', reply: textReply('Searched.', { usage: { input_tokens: 100, output_tokens: 10, server_tool_use: { web_search_requests: 2 } } }) });
    const traceId = newTestTraceId();
    const response = await post(traceId, { model: 'claude-opus-5-5', max_tokens: 10, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }] }, { bearer });
    expect(response.status).toBe(200);
    const { response: answer } = await closedCall(traceId);
    expect(answer).toMatchObject({ cost: { microdollars: 20_750 }, attributes: { over_budget: 'limits.budgets[0]' } });
    const next = await post(newTestTraceId(), { model: 'claude-opus-5-5', max_tokens: 10 }, { bearer });
    expect(next.status).toBe(429);
    expect(((await next.json()) as { error: { message: string } }).error.message).toMatch(/^spend limit reached · resets /);
  });
});
