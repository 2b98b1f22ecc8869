// The answer's way back: client disconnects, upstreams dying mid-stream, failover and upstreams
// that are all down. Whatever happens, the call ends with a response event under its trace id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChains } from '@/lib/audit';
import { pool } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { resetCircuitBreakers } from '@/lib/gateway/upstreams';
import { anthropicFailures, eventNames, startFakeAnthropic, textReply, type FakeAnthropic } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, tokenFor, waitForEvents, type GatewayHarness } from './harness';

let primary: FakeAnthropic;
let secondary: FakeAnthropic;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;

function config(): string {
  return `
providers:
  primary: { type: anthropic, base_url: ${primary.url}, max_retries: 0, timeout_ms: 2000, forward_attribution: true }
  secondary: { type: anthropic, base_url: ${secondary.url}, max_retries: 0, timeout_ms: 2000, forward_attribution: true }
models:
  claude-opus-5-5:
    targets: [{ provider: primary, model: opus-primary }, { provider: secondary, model: opus-secondary }]
    price: { input_per_mtok_microdollars: 5000000, output_per_mtok_microdollars: 25000000 }
`;
}

function post(traceId: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-trace-id': traceId },
    body: JSON.stringify({ model: 'claude-opus-5-5', max_tokens: 256, messages: [{ role: 'user', content: 'Tell me a long story.' }], ...body }),
    signal,
  });
}

beforeAll(async () => {
  primary = await startFakeAnthropic();
  secondary = await startFakeAnthropic();
  gateway = await startGateway(config(), 'streaming');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  const report = await verifyAuditChains(pool(), { tenantId: user.tenantId });
  await primary.close();
  await secondary.close();
  await gateway.close();
  expect(report.ok).toBe(true);
});

describe('client disconnects', () => {
  it('mid-stream: aborts the upstream call and still writes the response event', async () => {
    resetCircuitBreakers();
    primary.setBehaviour({ kind: 'stall', afterEvents: 3, reply: textReply('A story that never ends.') });
    const traceId = newTestTraceId();
    const controller = new AbortController();
    const response = await post(traceId, { stream: true }, controller.signal);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('event: message_start');
    controller.abort();

    const upstreamCall = primary.requests.find((request) => request.headers['x-trace-id'] === traceId)!;
    expect(await upstreamCall.finished).toBe('aborted');
    const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
    expect(events.find((event) => event.event_type === 'inference.response')).toMatchObject({
      outcome: 'unknown',
      gen_ai: { provider: 'primary', stream: true, input_tokens: 12 },
      attributes: { client_disconnected: true, upstream: 'primary/opus-primary' },
    });
  });

  it('before any answer: aborts the hanging upstream and records the call', async () => {
    resetCircuitBreakers();
    primary.setBehaviour({ kind: 'hang' });
    const traceId = newTestTraceId();
    const controller = new AbortController();
    const pending = post(traceId, {}, controller.signal).catch((error: unknown) => error);
    // Wait until the upstream holds the request, then leave.
    while (!primary.requests.some((request) => request.headers['x-trace-id'] === traceId)) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    const upstreamCall = primary.requests.find((request) => request.headers['x-trace-id'] === traceId)!;
    expect(await upstreamCall.finished).toBe('aborted');
    const events = await waitForEvents(traceId, ['inference.response']);
    expect(events.find((event) => event.event_type === 'inference.response')).toMatchObject({ outcome: 'unknown', attributes: { client_disconnected: true } });
    expect(secondary.requests.some((request) => request.headers['x-trace-id'] === traceId)).toBe(false);
  });
});

describe('upstream failures', () => {
  it('ends a stream whose upstream dies mid-way with an Anthropic error event, and records the failure', async () => {
    resetCircuitBreakers();
    primary.setBehaviour({ kind: 'die', afterEvents: 3, reply: textReply('Once upon a time there was a connection.') });
    const traceId = newTestTraceId();
    const response = await post(traceId, { stream: true });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(eventNames(text).at(-1)).toBe('error');
    const events = await waitForEvents(traceId, ['inference.response']);
    const answer = events.find((event) => event.event_type === 'inference.response')!;
    expect(answer.outcome).toBe('failure');
    expect(answer.error?.type).toBeTruthy();
  });

  it('fails over to the next target before the first byte, and records the path taken', async () => {
    resetCircuitBreakers();
    primary.setBehaviour(anthropicFailures.unavailable());
    secondary.setBehaviour({ kind: 'reply', reply: textReply('From the secondary.') });
    const traceId = newTestTraceId();
    const response = await post(traceId, {});
    expect(response.status).toBe(200);
    expect(((await response.json()) as { content: { text: string }[] }).content[0]!.text).toBe('From the secondary.');
    const events = await waitForEvents(traceId, ['inference.response']);
    expect(events.find((event) => event.event_type === 'inference.response')).toMatchObject({
      outcome: 'success',
      gen_ai: { provider: 'secondary' },
      cost: { microdollars: 12 * 5 + 7 * 25 },
      attributes: { upstream: 'secondary/opus-secondary', failover: true, attempts: expect.stringMatching(/^primary\/opus-primary:server_error:503:\d+ms, secondary\/opus-secondary:success:200:\d+ms$/) },
    });
  });

  it('answers cleanly when every target is down, and records it', async () => {
    resetCircuitBreakers();
    primary.setBehaviour(anthropicFailures.overloaded());
    secondary.setBehaviour(anthropicFailures.overloaded());
    const traceId = newTestTraceId();
    const response = await post(traceId, {});
    expect(response.status).toBe(529);
    expect(response.headers.get('x-trace-id')).toBe(traceId);
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body.error.type).toBe('overloaded_error');
    expect(body.error.message).not.toContain('org_');

    primary.setBehaviour(anthropicFailures.unavailable());
    secondary.setBehaviour(anthropicFailures.serverError());
    resetCircuitBreakers();
    const brokenTrace = newTestTraceId();
    const broken = await post(brokenTrace, {});
    expect(broken.status).toBe(500);
    expect(((await broken.json()) as { error: { type: string } }).error.type).toBe('api_error');

    const events = await waitForEvents(traceId, ['inference.response']);
    expect(events.find((event) => event.event_type === 'inference.response')).toMatchObject({ outcome: 'failure', error: { type: 'overloaded_error', status: 529 }, gen_ai: { provider: 'none' } });
  });
});
