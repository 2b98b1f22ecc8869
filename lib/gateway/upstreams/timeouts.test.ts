// Timeouts on the upstream side (issue 7, item 15): a deadline to the response headers, an idle
// limit for the body, and nothing retried or failed over once an upstream has answered 2xx. The
// timings are scaled down: a 300 ms deadline stands for the 60 s default, a 1.2 s answer for a
// 70 s one.
import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '@/lib/platform/net';
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import { anthropicTarget, dispatchInput, eventNames, readText, startFakeAnthropic, textReply, type FakeAnthropic } from '@/lib/gateway/testing';
import { circuitState, dispatch, dispatchCountTokens, resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '.';

let primary: FakeAnthropic;
let secondary: FakeAnthropic;

beforeEach(async () => {
  resetCircuitBreakers();
  // One failure would open a circuit: a slow answer counted as one would show at once.
  tuneUpstreams({ retryBaseDelayMs: 1, retryMaxDelayMs: 2, breakerFailureThreshold: 1, pingIntervalMs: 60_000, logger: { warn: () => {} } });
  primary = await startFakeAnthropic();
  secondary = await startFakeAnthropic({ behaviour: { kind: 'reply', reply: textReply('from secondary') } });
});

afterEach(async () => {
  await Promise.all([primary.close(), secondary.close()]);
  resetUpstreamTuning();
});

const DEADLINES = { timeoutMs: 300, nonStreamingTimeoutMs: 300, idleTimeoutMs: 300, maxRetries: 2 };

function targets(overrides: Partial<UpstreamTarget> = {}): UpstreamTarget[] {
  return [anthropicTarget(primary.url, { provider: 'primary', ...DEADLINES, ...overrides }), anthropicTarget(secondary.url, { provider: 'secondary', ...DEADLINES })];
}

describe('a slow upstream that is alive', () => {
  it('reads a non-streaming answer that takes four deadlines to arrive, once, without retrying or opening the circuit', async () => {
    const long = 'a long answer '.repeat(50);
    // Headers at once, then the body in 8 pieces 150 ms apart: 1.2 s in all, never 300 ms silent.
    primary.setBehaviour({ kind: 'reply', reply: textReply(long, { usage: { input_tokens: 30, output_tokens: 900 } }), trickle: { pieces: 8, intervalMs: 150 } });
    const startedAt = performance.now();
    const result = await dispatch(dispatchInput(targets()));
    const body = JSON.parse(await readText(result.body)) as { content: { text: string }[] };
    expect(performance.now() - startedAt).toBeGreaterThan(1_000);

    expect(result.status).toBe(200);
    expect(body.content[0]!.text).toBe(long);
    expect((await result.completion).usage).toMatchObject({ input_tokens: 30, output_tokens: 900 });
    expect(result.attempts.map((attempt) => [attempt.provider, attempt.outcome, attempt.status])).toEqual([['primary', 'success', 200]]);
    expect(primary.requests).toHaveLength(1);
    expect(secondary.requests).toHaveLength(0);
    expect(circuitState(targets()[0]!)).toBe('closed');
  });

  it('waits for the headers of a non-streaming answer up to non_streaming_timeout_ms, not the streaming deadline', async () => {
    // The upstream writes its headers only when the whole answer is ready, 600 ms in.
    primary.setBehaviour({ kind: 'reply', reply: textReply('done at last'), latencyMs: 600 });
    const result = await dispatch(dispatchInput(targets({ timeoutMs: 200, nonStreamingTimeoutMs: 2_000 })));
    expect(result.status).toBe(200);
    expect(await readText(result.body)).toContain('done at last');
    expect(primary.requests).toHaveLength(1);
    expect(circuitState(targets()[0]!)).toBe('closed');
  });

  it('streams an answer whose first event takes longer than the headers deadline, with pings meanwhile', async () => {
    tuneUpstreams({ pingIntervalMs: 100 });
    primary.setBehaviour({ kind: 'reply', reply: textReply('worth the wait'), pause: { afterEvents: 0, ms: 250 } });
    const result = await dispatch(dispatchInput(targets({ timeoutMs: 200, idleTimeoutMs: 1_000 }), { stream: true }));
    const names = eventNames(await readText(result.body));
    expect(names[0]).toBe('ping');
    expect(names.at(-1)).toBe('message_stop');
    expect((await result.completion).content).toEqual([{ type: 'text', text: 'worth the wait' }]);
    expect(primary.requests).toHaveLength(1);
  });
});

describe('an upstream that does not answer', () => {
  it('fails over from a hung upstream (no headers within the deadline) and keeps a slow one under the same deadlines', async () => {
    for (const stream of [false, true]) {
      resetCircuitBreakers();
      primary.setBehaviour({ kind: 'hang' });
      const before = primary.requests.length;
      const hung = await dispatch(dispatchInput(targets({ maxRetries: 0 }), { stream }));
      await readText(hung.body);
      expect((await hung.completion).content).toEqual([{ type: 'text', text: 'from secondary' }]);
      expect(hung.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([
        ['primary', 'timeout'],
        ['secondary', 'success'],
      ]);
      expect(await primary.requests[before]!.finished).toBe('aborted');

      // Same deadlines, but the upstream answers at once and then takes its time: it is kept.
      resetCircuitBreakers();
      primary.setBehaviour({ kind: 'reply', reply: textReply('slow, not hung'), trickle: { pieces: 4, intervalMs: 150 }, eventDelayMs: 150 });
      const slow = await dispatch(dispatchInput(targets({ maxRetries: 0 }), { stream }));
      await readText(slow.body);
      expect((await slow.completion).content).toEqual([{ type: 'text', text: 'slow, not hung' }]);
      expect(slow.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([['primary', 'success']]);
    }
  });
});

describe('a body that stops after the 2xx', () => {
  it('ends a stalled non-streaming answer with 504 api_error: one attempt, no retry, no failover', async () => {
    primary.setBehaviour({ kind: 'stall', afterEvents: 0 });
    const result = await dispatch(dispatchInput(targets()));
    expect(result.status).toBe(504);
    expect(JSON.parse(await readText(result.body))).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('stopped sending') } });
    expect((await result.completion).error?.type).toBe('api_error');
    expect(result.attempts.map((attempt) => [attempt.provider, attempt.outcome, attempt.status])).toEqual([['primary', 'timeout', 200]]);
    expect(primary.requests).toHaveLength(1);
    expect(await primary.requests[0]!.finished).toBe('aborted');
    expect(secondary.requests).toHaveLength(0);
  });

  it('ends a non-streaming answer whose connection breaks mid-body with 502 api_error, not retried', async () => {
    primary.setBehaviour({ kind: 'die', afterEvents: 0 });
    const result = await dispatch(dispatchInput(targets()));
    expect(result.status).toBe(502);
    expect(JSON.parse(await readText(result.body))).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual(['server_error']);
    expect(primary.requests).toHaveLength(1);
    expect(secondary.requests).toHaveLength(0);
  });

  it('ends a stream that stalls after its 2xx headers with an error event: no retry, no failover', async () => {
    for (const afterEvents of [0, 3]) {
      const before = primary.requests.length;
      primary.setBehaviour({ kind: 'stall', afterEvents });
      const result = await dispatch(dispatchInput(targets(), { stream: true }));
      const sse = await readText(result.body);
      expect(result.status).toBe(200);
      expect(eventNames(sse).at(-1)).toBe('error');
      expect(sse).toContain('upstream stream stalled');
      expect(primary.requests.length - before).toBe(1);
      expect(secondary.requests).toHaveLength(0);
    }
  });

  it('ends a non-streaming 2xx whose body is not JSON with 502 api_error: committed (billable), not retried, not a Gatehouse failure', async () => {
    // A proxy in front of the upstream answering 200 with a page of its own.
    const proxy = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>signed out</html>'));
    const url = await listenOnLoopback(proxy);
    try {
      const result = await dispatch(dispatchInput([anthropicTarget(url, { provider: 'proxied', ...DEADLINES }), ...targets().slice(1)]));
      expect(result.status).toBe(502);
      expect(JSON.parse(await readText(result.body))).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect((await result.completion).error?.type).toBe('api_error');
      expect(result.attempts.map((attempt) => [attempt.provider, attempt.outcome, attempt.status])).toEqual([['proxied', 'server_error', 200]]);
      expect(secondary.requests).toHaveLength(0);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('answers count_tokens whose body stalls after the 2xx with 504, without trying the next target', async () => {
    primary.setBehaviour({ kind: 'stall', afterEvents: 0 });
    const response = await dispatchCountTokens(dispatchInput(targets()));
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(secondary.requests).toHaveLength(0);
  });
});
