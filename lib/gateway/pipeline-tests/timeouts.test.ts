// Upstream timeouts end to end (issue 7, item 15): the Anthropic SDK against Gatehouse against a
// fake upstream whose answers are slow. Deadlines are scaled down (300 ms stands for the 60 s
// default): a non-streaming answer four deadlines long is answered once and billed once; a body
// that stalls after the 2xx is an error to the client, recorded once, never sent twice.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '@/lib/db/client';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '@/lib/gateway/testing';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { newTestTraceId, startGateway, tokenFor, waitForEvents, type GatewayHarness } from './harness';

let upstream: FakeAnthropic;
let gateway: GatewayHarness;

function config(upstreamUrl: string): string {
  return `
providers:
  slow:
    type: anthropic
    base_url: ${upstreamUrl}
    max_retries: 2
    timeout_ms: 300
    non_streaming_timeout_ms: 300
    idle_timeout_ms: 300
models:
  claude-haiku-5-5:
    targets: [{ provider: slow, model: haiku-upstream }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 5000000 }
`;
}

async function client(user: UserIdentity, traceId: string): Promise<Anthropic> {
  return new Anthropic({ baseURL: gateway.url, apiKey: await tokenFor(gateway, user), maxRetries: 0, defaultHeaders: { 'x-trace-id': traceId } });
}

async function ledgerOf(user: UserIdentity): Promise<{ requests: number; cost: number }> {
  const { rows } = await pool().query<{ requests: string; cost: string }>(
    'SELECT coalesce(sum(requests), 0)::text AS requests, coalesce(sum(cost_microdollars), 0)::text AS cost FROM spend_ledger WHERE user_id = $1',
    [user.userId],
  );
  return { requests: Number(rows[0]!.requests), cost: Number(rows[0]!.cost) };
}

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gateway = await startGateway(config(upstream.url), 'timeouts');
});

afterAll(async () => {
  await upstream.close();
  await gateway.close();
});

describe('a slow upstream through the gateway', () => {
  it('answers a non-streaming request that takes four deadlines once, and bills it once', async () => {
    const user = await createTestUser(['member']);
    const traceId = newTestTraceId();
    const before = upstream.requests.length;
    upstream.setBehaviour({ kind: 'reply', reply: textReply('slow but complete', { usage: { input_tokens: 1000, output_tokens: 2000 } }), trickle: { pieces: 8, intervalMs: 150 } });
    const message = await (await client(user, traceId)).messages.create({ model: 'claude-haiku-5-5', max_tokens: 4000, messages: [{ role: 'user', content: 'Take your time.' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'slow but complete' }]);
    expect(upstream.requests.length - before).toBe(1);

    const events = await waitForEvents(traceId, ['inference.response']);
    const response = events.find((event) => event.event_type === 'inference.response');
    expect(response).toMatchObject({ outcome: 'success', attributes: { status: 200, failover: false }, cost: { microdollars: 1000 + 10_000 } });
    expect(String(response!.attributes!.attempts)).toMatch(/^slow\/haiku-upstream:success:200:\d+ms$/);
    expect(await ledgerOf(user)).toEqual({ requests: 1, cost: 11_000 });
  });

  it('ends a non-streaming answer that stalls after its 2xx with 504 api_error, sent upstream once', async () => {
    const user = await createTestUser(['member']);
    const traceId = newTestTraceId();
    const before = upstream.requests.length;
    upstream.setBehaviour({ kind: 'stall', afterEvents: 0 });
    const failure = await (await client(user, traceId)).messages.create({ model: 'claude-haiku-5-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.InternalServerError);
    expect((failure as InstanceType<typeof Anthropic.InternalServerError>).status).toBe(504);
    expect((failure as InstanceType<typeof Anthropic.InternalServerError>).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(upstream.requests.length - before).toBe(1);

    const events = await waitForEvents(traceId, ['inference.response']);
    const responses = events.filter((event) => event.event_type === 'inference.response');
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ outcome: 'failure', attributes: { status: 504, failover: false } });
    expect(String(responses[0]!.attributes!.attempts)).toMatch(/^slow\/haiku-upstream:timeout:200:\d+ms$/);
  });

  it('ends a stream that stalls after its 2xx with an error event, sent upstream once', async () => {
    const user = await createTestUser(['member']);
    const traceId = newTestTraceId();
    const before = upstream.requests.length;
    upstream.setBehaviour({ kind: 'stall', afterEvents: 3 });
    const stream = (await client(user, traceId)).messages.stream({ model: 'claude-haiku-5-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    const failure = await stream.finalMessage().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect(String(failure)).toContain('upstream stream stalled');
    expect(upstream.requests.length - before).toBe(1);
    const events = await waitForEvents(traceId, ['inference.response']);
    expect(events.filter((event) => event.event_type === 'inference.response')).toHaveLength(1);
  });
});
