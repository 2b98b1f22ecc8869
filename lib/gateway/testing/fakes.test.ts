import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { anthropicFailures, DEFAULT_OPENAI_TEXT, inSequence, openAIFailures, startFakeAnthropic, startFakeOpenAI, toolUseReply, type FakeServer } from '.';

const servers: FakeServer<never>[] = [];
function track<T extends { close(): Promise<void> }>(server: T): T {
  servers.push(server as unknown as FakeServer<never>);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function sdk(baseURL: string): Anthropic {
  return new Anthropic({ apiKey: 'sk-ant-fake', baseURL, maxRetries: 0 });
}

const params = { model: 'claude-test-1', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('fake Anthropic upstream', () => {
  it('speaks the Messages API well enough for the SDK, streaming and not, and records requests', async () => {
    const fake = track(await startFakeAnthropic({ behaviour: { kind: 'reply', reply: toolUseReply('get_weather', { city: 'Paris' }, { preamble: 'Checking.' }) } }));
    const client = sdk(fake.url);

    const plain = await client.messages.create(params);
    const streamed = await client.messages.stream(params).finalMessage();

    expect(plain.content).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'toolu_fake_01', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    expect(plain.stop_reason).toBe('tool_use');
    expect(streamed).toMatchObject({ ...plain, id: streamed.id });
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer sk-ant-fake');
    expect(fake.requests[1]?.body).toMatchObject({ stream: true, model: 'claude-test-1' });
    expect(await fake.requests[1]?.finished).toBe('completed');
  });

  it('answers scripted errors in the Anthropic envelope and counts tokens', async () => {
    const fake = track(await startFakeAnthropic({ behaviour: inSequence(anthropicFailures.rateLimited(7), anthropicFailures.promptTooLong(), { kind: 'reply' }) }));
    const client = sdk(fake.url);

    const limited = await client.messages.create(params).catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('7');
    const tooLong = await client.messages.create(params).catch((error: unknown) => error);
    expect((tooLong as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringContaining('prompt is too long') } });
    const count = await client.messages.countTokens(params);
    expect(count.input_tokens).toBeGreaterThan(0);
  });

  it('dies mid-stream and reports the client going away', async () => {
    const fake = track(await startFakeAnthropic({ behaviour: { kind: 'die', afterEvents: 2 } }));
    const died = await sdk(fake.url).messages.stream(params).finalMessage().catch((error: unknown) => error);
    expect(died).toBeInstanceOf(Error);

    fake.setBehaviour({ kind: 'hang' });
    const controller = new AbortController();
    const pending = fetch(`${fake.url}/v1/messages`, { method: 'POST', body: JSON.stringify(params), signal: controller.signal }).catch((error: unknown) => error);
    while (fake.requests.length < 2) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await pending;
    expect(await fake.requests[1]?.finished).toBe('aborted');
  });

  it('awaits onRequest before answering', async () => {
    const order: string[] = [];
    const fake = track(
      await startFakeAnthropic({
        onRequest: async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          order.push('hook');
        },
      }),
    );
    await sdk(fake.url).messages.create(params);
    order.push('answered');
    expect(order).toEqual(['hook', 'answered']);
    expect(fake.hookErrors).toEqual([]);
  });
});

describe('fake OpenAI-compatible upstream', () => {
  it('answers JSON and SSE with usage only when asked', async () => {
    const fake = track(await startFakeOpenAI({ apiKey: 'sk-openai' }));
    const headers = { authorization: 'Bearer sk-openai', 'content-type': 'application/json' };
    const body = { model: 'llama', messages: [{ role: 'user', content: 'hi' }] };

    const json = (await (await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) })).json()) as {
      choices: { message: { content: string } }[];
    };
    expect(json.choices[0]?.message.content).toBe(DEFAULT_OPENAI_TEXT);

    const sse = await (await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }) })).text();
    const frames = sse.split('\n\n').filter(Boolean);
    expect(frames.at(-1)).toBe('data: [DONE]');
    expect(JSON.parse(frames.at(-2)?.slice('data: '.length) ?? '{}')).toMatchObject({ choices: [], usage: { prompt_tokens: 15, completion_tokens: 9 } });

    const unauthorised = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(body) });
    expect(unauthorised.status).toBe(401);
  });

  it('streams parallel tool calls interleaved and answers errors in the OpenAI envelope', async () => {
    const fake = track(
      await startFakeOpenAI({
        behaviour: inSequence(openAIFailures.rateLimited(3), {
          kind: 'reply',
          reply: { toolCalls: [{ name: 'a', arguments: { x: 1 } }, { name: 'b', arguments: { y: 2 } }], interleaveToolCalls: true },
        }),
      }),
    );
    const limited = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(await limited.json()).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });

    const sse = await (await fetch(`${fake.url}/openai/deployments/gpt/chat/completions?api-version=2024-10-21`, { method: 'POST', body: JSON.stringify({ stream: true }) })).text();
    const indices = sse
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .flatMap((frame) => (JSON.parse(frame.slice(6)) as { choices: { delta: { tool_calls?: { index: number }[] } }[] }).choices.flatMap((choice) => choice.delta.tool_calls ?? []))
      .map((call) => call.index);
    expect(indices.slice(0, 4)).toEqual([0, 1, 0, 1]);
    expect(sse).toContain('"finish_reason":"tool_calls"');
  });
});
