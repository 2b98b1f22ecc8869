// The demo upstream speaks both wire formats well enough for unmodified clients: the Anthropic SDK
// (JSON, streaming, tools, count_tokens) and OpenAI Chat Completions over plain HTTP.
import { spawnSync } from 'node:child_process';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@/lib/platform/net';
import { startDemoUpstream, type DemoUpstream } from './upstream';

let demo: DemoUpstream;
let client: Anthropic;

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] },
};

beforeAll(async () => {
  demo = await startDemoUpstream({ port: await freePort() });
  client = new Anthropic({ baseURL: demo.url, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await demo.close();
});

async function chat(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${demo.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('demo upstream: Anthropic Messages API', () => {
  it('answers a prompt with what was asked, as the model named, with usage', async () => {
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'What is Gatehouse?' }] });
    expect(message.model).toBe('claude-sonnet-4-5');
    expect(message.stop_reason).toBe('end_turn');
    const [block] = message.content;
    expect(block?.type === 'text' && block.text).toBe(
      'Hello from the Gatehouse demo upstream, answering as claude-sonnet-4-5. You said: "What is Gatehouse?". No model is behind this answer; put a real provider in gatehouse.yaml for one.',
    );
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBe(Math.ceil(((block?.type === 'text' && block.text) || '').length / 4));
  });

  it('streams the same answer in the API event order, leaving out Claude Code system reminders', async () => {
    const stream = client.messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'text', text: '<system-reminder>context</system-reminder>' }, { type: 'text', text: 'hi' }] }],
    });
    const events: string[] = [];
    stream.on('streamEvent', (event) => events.push(event.type));
    const final = await stream.finalMessage();
    expect(events).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(final.content[0]?.type === 'text' && final.content[0].text).toContain('You said: "hi"');
    expect(final.usage.output_tokens).toBeGreaterThan(1);
  });

  it('calls a tool the prompt asks for, with its required inputs filled, then reports its result', async () => {
    const ask: Anthropic.MessageParam = { role: 'user', content: 'Please use get_weather for Paris' };
    const call = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, tools: [WEATHER_TOOL], messages: [ask] });
    expect(call.stop_reason).toBe('tool_use');
    const toolUse = call.content.find((block) => block.type === 'tool_use');
    expect(toolUse).toMatchObject({ name: 'get_weather', input: { city: 'demo', days: 1 } });

    const answer = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      messages: [ask, { role: 'assistant', content: call.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse!.id, content: 'Sunny, 21 °C' }] }],
    });
    expect(answer.content[0]?.type === 'text' && answer.content[0].text).toContain('the tool returned "Sunny, 21 °C"');
    // Tools merely offered are not called.
    const plain = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'weather?' }] });
    expect(plain.stop_reason).toBe('end_turn');
  });

  it('counts tokens and refuses a body that is not JSON in the API error envelope', async () => {
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'count me' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
    const bad = await fetch(`${demo.url}/v1/messages`, { method: 'POST', body: 'not json' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});

describe('demo upstream: OpenAI Chat Completions', () => {
  it('answers JSON with usage, and a stream ending with the usage chunk when asked', async () => {
    const json = (await (await chat({ model: 'qwen3-coder', messages: [{ role: 'user', content: 'Hello' }] })).json()) as {
      choices: { message: { content: string }; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(json.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: expect.stringContaining('answering as qwen3-coder. You said: "Hello"') } });
    expect(json.usage.completion_tokens).toBeGreaterThan(0);

    const streamed = await (await chat({ model: 'qwen3-coder', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hello' }] })).text();
    const chunks = streamed.split('\n\n').filter(Boolean);
    expect(chunks.at(-1)).toBe('data: [DONE]');
    expect(JSON.parse(chunks.at(-2)!.slice('data: '.length))).toMatchObject({ choices: [], usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) } });
    const text = chunks
      .slice(0, -1)
      .map((chunk) => JSON.parse(chunk.slice('data: '.length)) as { choices: { delta?: { content?: string } }[] })
      .map((chunk) => chunk.choices[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe(json.choices[0]!.message.content);
    // Without include_usage, no usage chunk.
    expect(await (await chat({ model: 'qwen3-coder', stream: true, messages: [{ role: 'user', content: 'Hello' }] })).text()).not.toContain('"choices":[]');
  });

  it('calls a function the prompt asks for', async () => {
    const response = (await (
      await chat({
        model: 'qwen3-coder',
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } } }],
        messages: [{ role: 'user', content: 'call lookup please' }],
      })
    ).json()) as { choices: { message: { tool_calls: { function: { name: string; arguments: string } }[] }; finish_reason: string }[] };
    expect(response.choices[0]?.finish_reason).toBe('tool_calls');
    expect(response.choices[0]?.message.tool_calls[0]?.function).toEqual({ name: 'lookup', arguments: '{"id":"demo"}' });
  });
});

describe('npm run demo:upstream', () => {
  it('says in one line that the port is taken, and exits 1', () => {
    const port = new URL(demo.url).port;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo-upstream.ts', '--port', port], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([`demo upstream: port ${port} is in use (a demo upstream already running?); choose another with --port N or GATEHOUSE_DEMO_UPSTREAM_PORT`]);
  });
});
