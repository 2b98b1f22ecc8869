import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dispatchInput, openAIFailures, openAITarget, readText, sdkReading, startFakeOpenAI, type FakeOpenAI } from '@/lib/gateway/testing';
import { translateRequest } from './openai/request';
import { OpenAIStreamTranslator } from './openai/stream';
import { dispatch, resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '.';

let fake: FakeOpenAI;

beforeEach(async () => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: () => {} } });
  process.env.GATEHOUSE_TEST_OPENAI_KEY = 'sk-company-openai';
  fake = await startFakeOpenAI({ apiKey: 'sk-company-openai' });
});

afterEach(async () => {
  await fake.close();
  resetUpstreamTuning();
});

// `forward`: these tests follow the translation of an image URL; Gatehouse fetching it (the
// default) is remote-images.test.ts's subject.
const target = (overrides: Parameters<typeof openAITarget>[1] = {}) => openAITarget(fake.url, { apiKeyEnv: 'GATEHOUSE_TEST_OPENAI_KEY', remoteImages: 'forward', ...overrides });

const weatherTool = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

/** A conversation with everything the translation has to carry. */
const conversation = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  temperature: 0.2,
  top_p: 0.9,
  top_k: 40,
  stop_sequences: ['</answer>'],
  system: [
    { type: 'text', text: 'You are helpful.', cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'Answer briefly.' },
  ],
  tools: [weatherTool],
  tool_choice: { type: 'any', disable_parallel_tool_use: true },
  metadata: { user_id: '{"device_id":"d1"}' },
  thinking: { type: 'enabled', budget_tokens: 2000 },
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this picture, and the weather in Paris?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'image', source: { type: 'url', url: 'https://example.test/cat.jpg' } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Need the tool.', signature: 'sig' },
        { type: 'text', text: 'A cat. Checking the weather.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Lyon' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C and sunny' },
        { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'service down' }], is_error: true },
        { type: 'text', text: 'Thanks. Summarise.' },
      ],
    },
    { role: 'system', content: 'Keep it under 20 words.' },
  ],
};

describe('Anthropic → OpenAI request translation', () => {
  it('carries system, images, tools, tool calls, tool results and sampling settings', () => {
    const translated = translateRequest(dispatchInput([], { body: conversation, stream: true }), target());
    expect(translated).toEqual({
      model: 'fake-llm',
      messages: [
        { role: 'system', content: 'You are helpful.\n\nAnswer briefly.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture, and the weather in Paris?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.test/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: 'A cat. Checking the weather.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18°C and sunny' },
        { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: service down' },
        { role: 'user', content: 'Thanks. Summarise.' },
        { role: 'system', content: 'Keep it under 20 words.' },
      ],
      max_tokens: 1024,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      stop: ['</answer>'],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.input_schema } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('uses max_completion_tokens for OpenAI and Azure, forwards the user only with attribution, and maps every tool_choice', () => {
    const openai = translateRequest(dispatchInput([], { body: { ...conversation, tool_choice: { type: 'tool', name: 'get_weather' } } }), target({ providerType: 'openai' }));
    expect(openai).toMatchObject({ max_completion_tokens: 1024, tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    expect(openai).not.toHaveProperty('max_tokens');
    expect(openai).not.toHaveProperty('top_k');
    expect(openai).not.toHaveProperty('user');
    expect(openai).not.toHaveProperty('stream');

    const owned = translateRequest(dispatchInput([], { body: { ...conversation, tool_choice: { type: 'auto' } } }), target({ forwardAttribution: true }));
    expect(owned).toMatchObject({ user: '{"device_id":"d1"}', tool_choice: 'auto' });
    expect(owned).not.toHaveProperty('parallel_tool_calls');
    expect(translateRequest(dispatchInput([], { body: { ...conversation, tool_choice: { type: 'none' } } }), target())).toMatchObject({ tool_choice: 'none' });
  });

  it('refuses what an OpenAI-style upstream cannot do, by name, with a 400', async () => {
    const safeguards = await dispatch(dispatchInput([target()], { body: { ...conversation, safeguards: { mode: 'auto' } } }));
    expect(safeguards.status).toBe(400);
    expect(JSON.parse(await readText(safeguards.body))).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringContaining('safeguards') } });

    const serverTool = await dispatch(dispatchInput([target()], { body: { ...conversation, tools: [{ type: 'web_search_20250305', name: 'web_search' }] } }));
    expect(serverTool.status).toBe(400);
    expect(await readText(serverTool.body)).toContain('web_search');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('OpenAI-compatible upstreams through dispatch', () => {
  it('sends the translated request with the company key and maps the answer back', async () => {
    fake.setBehaviour({ kind: 'reply', reply: { content: 'Sunny.', toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: { city: 'Nice' } }], usage: { prompt_tokens: 120, completion_tokens: 30, cached_tokens: 100 } } });
    const result = await dispatch(dispatchInput([target()], { body: conversation }));
    const message = JSON.parse(await readText(result.body));

    expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer sk-company-openai');
    expect(message).toEqual({
      id: expect.stringMatching(/^msg_chatcmpl-fake/),
      type: 'message',
      role: 'assistant',
      model: 'fake-llm',
      content: [
        { type: 'text', text: 'Sunny.' },
        { type: 'tool_use', id: 'call_9', name: 'get_weather', input: { city: 'Nice' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 30, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 },
    });
    expect(await result.completion).toMatchObject({ stopReason: 'tool_use', usage: { input_tokens: 20, cache_read_input_tokens: 100 } });
  });

  it('streams text and interleaved parallel tool calls that the SDK assembles into the right message', async () => {
    fake.setBehaviour({
      kind: 'reply',
      reply: {
        content: 'Checking both.',
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
          { id: 'call_b', name: 'get_weather', arguments: { city: 'Tokyo', unit: 'celsius' } },
        ],
        interleaveToolCalls: true,
        usage: { prompt_tokens: 50, completion_tokens: 25, cached_tokens: 10 },
      },
    });
    const result = await dispatch(dispatchInput([target()], { body: { ...conversation, stream: true }, stream: true }));
    const message = await sdkReading(result).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [] }).finalMessage();

    expect(fake.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
      { type: 'tool_use', id: 'call_b', name: 'get_weather', input: { city: 'Tokyo', unit: 'celsius' } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 40, output_tokens: 25, cache_read_input_tokens: 10, cache_creation_input_tokens: 0 });
    expect(await result.completion).toMatchObject({ stopReason: 'tool_use', usage: { input_tokens: 40, output_tokens: 25 }, content: message.content });
  });

  it('streams sequential tool calls argument by argument and maps length to max_tokens', async () => {
    fake.setBehaviour({ kind: 'reply', reply: { content: null, toolCalls: [{ name: 'a', arguments: { x: 'one two three' } }, { name: 'b', arguments: { y: 2 } }], finishReason: 'length' } });
    const result = await dispatch(dispatchInput([target()], { body: { ...conversation, stream: true }, stream: true }));
    const sse = await readText(result.body);
    const argumentDeltas = [...sse.matchAll(/"partial_json":"((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]);
    expect(argumentDeltas.length).toBeGreaterThan(2); // streamed in fragments, not whole
    const completion = await result.completion;
    expect(completion.stopReason).toBe('max_tokens');
    expect(completion.content).toMatchObject([
      { type: 'tool_use', name: 'a', input: { x: 'one two three' } },
      { type: 'tool_use', name: 'b', input: { y: 2 } },
    ]);
  });

  it('uses the Azure deployment URL and api-key header, and Bearer for Groq', async () => {
    await dispatch(dispatchInput([target({ providerType: 'azure', model: 'gpt-4o-prod', apiVersion: '2025-01-01-preview' })]));
    expect(fake.requests[0]?.url).toBe('/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-01-01-preview');
    expect(fake.requests[0]?.headers['api-key']).toBe('sk-company-openai');
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
    expect(fake.requests[0]?.body).toMatchObject({ max_completion_tokens: 256 });

    await dispatch(dispatchInput([target({ providerType: 'groq', baseUrl: `${fake.url}/openai/v1` })]));
    expect(fake.requests[1]?.url).toBe('/openai/v1/chat/completions');
    expect(fake.requests[1]?.headers.authorization).toBe('Bearer sk-company-openai');

    // Azure's v1 API: no deployment in the path, no api-version; the deployment is the model.
    await dispatch(dispatchInput([target({ providerType: 'azure', model: 'gpt-4o-prod', apiVersion: 'v1' })]));
    expect(fake.requests[2]?.url).toBe('/openai/v1/chat/completions');
    expect(fake.requests[2]?.headers['api-key']).toBe('sk-company-openai');
    expect(fake.requests[2]?.body).toMatchObject({ model: 'gpt-4o-prod' });
  });

  it('turns a context-length error into the message Claude Code compacts on, and keeps account details out', async () => {
    fake.setBehaviour(openAIFailures.contextLengthExceeded());
    const tooLong = await dispatch(dispatchInput([target()]));
    expect(tooLong.status).toBe(400);
    expect(JSON.parse(await readText(tooLong.body))).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 9000 tokens > 8192 maximum' } });

    fake.setBehaviour({ kind: 'error', status: 400, errorType: 'invalid_request_error', code: 'bad', message: 'Invalid value for org-FAKEACCOUNT' });
    const generic = await dispatch(dispatchInput([target()]));
    const text = await readText(generic.body);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(text).not.toContain('FAKEACCOUNT');
  });
});

describe('OpenAI stream translator edge cases', () => {
  const frames = (translator: OpenAIStreamTranslator, chunks: unknown[]) => [...chunks.flatMap((chunk) => translator.push(chunk)), ...translator.finish()].join('');

  it('synthesises a missing tool call id, ignores empty tool_calls and reports missing usage as unknown', () => {
    const translator = new OpenAIStreamTranslator();
    const sse = frames(translator, [
      { id: 'c1', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [] } }] },
      { id: 'c1', model: 'm', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: '{"a":1}' } }] } }] },
      { id: 'c1', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ]);
    expect(sse).toMatch(/"content_block":\{"type":"tool_use","id":"toolu_[0-9a-f]{32}","name":"f","input":\{\}\}/);
    expect(sse).toContain('"stop_reason":"tool_use"'); // Ollama-style `stop` after a tool call
    expect(translator.usageReported).toBe(false);
  });

  it('turns an error chunk into an Anthropic error event and stops', () => {
    const translator = new OpenAIStreamTranslator();
    const sse = frames(translator, [
      { id: 'c1', choices: [{ index: 0, delta: { content: 'Hi' } }] },
      { error: { message: 'engine overloaded for org-X', code: 503 } },
      { id: 'c1', choices: [{ index: 0, delta: { content: 'ignored' } }] },
    ]);
    expect(sse).toContain('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
    expect(sse).not.toContain('ignored');
    expect(sse).not.toContain('org-X');
    expect(sse).not.toContain('message_stop');
  });

  it('reads Groq usage from x_groq and maps content_filter to refusal', () => {
    const translator = new OpenAIStreamTranslator();
    const sse = frames(translator, [
      { id: 'c1', choices: [{ index: 0, delta: { content: 'No.' }, finish_reason: 'content_filter' }], x_groq: { usage: { prompt_tokens: 9, completion_tokens: 2 } } },
    ]);
    expect(sse).toContain('"stop_reason":"refusal"');
    expect(sse).toContain('"usage":{"input_tokens":9,"output_tokens":2,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}');
    expect(translator.usageReported).toBe(true);
  });
});
