import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { anthropicTarget, dispatchInput, eventNames, openAITarget, readText, sdkReading, startFakeAnthropic, webBody, startFakeOpenAI, textReply, type FakeAnthropic } from '@/lib/gateway/testing';
import { dispatch, resetCircuitBreakers, resetUpstreamTuning, STREAM_DIED_MESSAGE, tuneUpstreams } from '.';

let fake: FakeAnthropic;

beforeEach(async () => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: () => {} } });
  fake = await startFakeAnthropic();
});

afterEach(async () => {
  await fake.close();
  resetUpstreamTuning();
});

const params = { model: 'claude-upstream-1', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Go' }] };
const streamInput = (overrides: Parameters<typeof anthropicTarget>[1] = {}, signal?: AbortSignal) =>
  dispatchInput([anthropicTarget(fake.url, overrides)], { body: { ...params, stream: true }, stream: true, ...(signal ? { signal } : {}) });

describe('streams that go wrong after the first byte', () => {
  it('ends with an Anthropic error event when the upstream dies mid-stream', async () => {
    fake.setBehaviour({ kind: 'die', afterEvents: 4 });
    const result = await dispatch(streamInput());
    const sse = await readText(result.body);

    expect(eventNames(sse)).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'error']);
    expect(sse.endsWith(`event: error\ndata: {"type":"error","error":{"type":"api_error","message":"${STREAM_DIED_MESSAGE}"}}\n\n`)).toBe(true);
    const completion = await result.completion;
    expect(completion.error).toEqual({ type: 'api_error', message: STREAM_DIED_MESSAGE });
    // The final usage (message_delta) never came; what message_start reported and what was
    // produced are kept for the estimate the call is billed at.
    expect(completion.usage).toBeNull();
    expect(completion.startUsage).toMatchObject({ input_tokens: 12, output_tokens: 1 });
    expect(completion.outputBytes).toBeGreaterThan(0);
  });

  it('makes the SDK raise the error rather than hang', async () => {
    fake.setBehaviour({ kind: 'die', afterEvents: 3 });
    const failure = await sdkReading(await dispatch(streamInput())).messages.stream(params).finalMessage().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect(String(failure)).toContain(STREAM_DIED_MESSAGE);
  });

  it('ends a stream that stalls past the idle limit with an error event and cancels the upstream', async () => {
    fake.setBehaviour({ kind: 'stall', afterEvents: 3 });
    tuneUpstreams({ pingIntervalMs: 60_000 });
    const result = await dispatch(streamInput({ timeoutMs: 200 }));
    const sse = await readText(result.body);

    expect(eventNames(sse)).toEqual(['message_start', 'content_block_start', 'ping', 'error']);
    expect(sse).toContain('upstream stream stalled');
    expect((await result.completion).error?.type).toBe('api_error');
    expect(await fake.requests[0]?.finished).toBe('aborted');
  });

  it('sends pings during a silent gap and still delivers the whole answer', async () => {
    fake.setBehaviour({ kind: 'reply', reply: textReply('after a pause'), pause: { afterEvents: 3, ms: 250 } });
    tuneUpstreams({ pingIntervalMs: 40 });
    const result = await dispatch(streamInput());
    const sse = await readText(result.body);

    const names = eventNames(sse);
    expect(names.filter((name) => name === 'ping').length).toBeGreaterThan(2);
    expect(names.at(-1)).toBe('message_stop');
    const completion = await result.completion;
    expect(completion.error).toBeUndefined();
    expect(completion.content).toEqual([{ type: 'text', text: 'after a pause' }]);
  });

  it('cancels the upstream call when the client goes away and still completes the record', async () => {
    fake.setBehaviour({ kind: 'stall', afterEvents: 3 });
    const controller = new AbortController();
    const result = await dispatch(streamInput({}, controller.signal));
    const reader = webBody(result.body).getReader();
    await reader.read();
    // A Web caller's abort reaches the upstream call while the body is still open: the upstream
    // read then fails because the client left, which is not a dead upstream (api_error).
    controller.abort();

    expect(await fake.requests[0]?.finished).toBe('aborted');
    const completion = await result.completion;
    expect(completion.error?.type).toBe('client_disconnected');
    expect(completion.responseModel).toBe('claude-upstream-1');
  });

  it('cancels the upstream call when only the body is cancelled', async () => {
    fake.setBehaviour({ kind: 'stall', afterEvents: 3 });
    const result = await dispatch(streamInput());
    await webBody(result.body).cancel();
    expect(await fake.requests[0]?.finished).toBe('aborted');
    expect((await result.completion).error?.type).toBe('client_disconnected');
  });

  it('translates an OpenAI-compatible stream that dies into the same error event', async () => {
    const openai = await startFakeOpenAI({ behaviour: { kind: 'die', afterEvents: 3 } });
    try {
      const result = await dispatch(dispatchInput([openAITarget(openai.url)], { body: { ...params, stream: true }, stream: true }));
      const sse = await readText(result.body);
      expect(eventNames(sse)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'error']);
      expect((await result.completion).error?.message).toBe(STREAM_DIED_MESSAGE);
    } finally {
      await openai.close();
    }
  });
});
