// Claude on Amazon Bedrock through the gateway: an unmodified @anthropic-ai/sdk client talks to
// Gatehouse, which signs with SigV4 (credentials from the standard AWS chain, here the
// environment) and speaks InvokeModel to a fake Bedrock that recomputes every signature and
// streams AWS binary event-stream frames.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '@/lib/gateway/upstreams';
import { resetAwsCredentials } from '@/lib/gateway/upstreams/bedrock/signing';
import { bedrockFailures, FAKE_AWS_CREDENTIALS, startFakeBedrock, TINY_PNG, toolUseReply, type FakeBedrock } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, tokenFor, type GatewayHarness } from './harness';
import { rejectionOf, responseEvent, sdkClient } from './cloud';

const BEDROCK_MODEL = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const LLAMA_MODEL = 'meta.llama3-3-70b-instruct-v1:0';
const CLAUDE_PROFILE = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6';
// µ$ per token: 3 in, 15 out, 3.75 cache write, 0.3 cache read (as per Mtok in the YAML).
const PRICE = { input: 3_000_000, output: 15_000_000, cacheWrite: 3_750_000, cacheRead: 300_000 };

let bedrock: FakeBedrock;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;
const warnings: string[] = [];

const config = () => `
providers:
  aws: { type: bedrock, region: us-east-1, base_url: ${bedrock.url}, max_retries: 0, timeout_ms: 3000 }
models:
  claude-sonnet-4-5:
    targets: [{ provider: aws, model: "${BEDROCK_MODEL}" }]
    price: { input_per_mtok_microdollars: ${PRICE.input}, output_per_mtok_microdollars: ${PRICE.output}, cache_write_per_mtok_microdollars: ${PRICE.cacheWrite}, cache_read_per_mtok_microdollars: ${PRICE.cacheRead} }
  claude-profile:
    targets: [{ provider: aws, model: "${CLAUDE_PROFILE}", api: invoke }]
    price: { input_per_mtok_microdollars: ${PRICE.input}, output_per_mtok_microdollars: ${PRICE.output} }
  llama-bedrock:
    targets: [{ provider: aws, model: "${LLAMA_MODEL}" }]
    price: { input_per_mtok_microdollars: 720000, output_per_mtok_microdollars: 720000 }
`;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = FAKE_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = FAKE_AWS_CREDENTIALS.secretAccessKey;
  process.env.AWS_SESSION_TOKEN = FAKE_AWS_CREDENTIALS.sessionToken;
  resetAwsCredentials();
  bedrock = await startFakeBedrock();
  gateway = await startGateway(config(), 'bedrock');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  await bedrock.close();
  await gateway.close();
  resetUpstreamTuning();
});

beforeEach(() => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details ?? {})}`) } });
  bedrock.setBehaviour({ kind: 'reply' });
  warnings.length = 0;
});

const lastRequest = () => bedrock.requests.at(-1)!;

describe('Claude on Bedrock (InvokeModel)', () => {
  it('answers a text request, signed, with the native Bedrock body, and records its cost', async () => {
    bedrock.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'Hello from Bedrock.' }], usage: { input_tokens: 40, output_tokens: 9, cache_read_input_tokens: 100, cache_creation_input_tokens: 8 } } });
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId, { 'anthropic-beta': 'claude-code-20250219,prompt-caching-2024-07-31,interleaved-thinking-2025-05-14' }).messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from Bedrock.' }]);

    const seen = lastRequest();
    expect(seen.path).toBe(`/model/${encodeURIComponent(BEDROCK_MODEL)}/invoke`);
    expect(seen.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAFAKEGATEHOUSE01\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
    expect(seen.headers['x-amz-security-token']).toBe(FAKE_AWS_CREDENTIALS.sessionToken);
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.body).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Hi' }],
      // Flags Bedrock refuses ("invalid beta flag") stay behind, noted once in the log.
      anthropic_beta: ['claude-code-20250219', 'interleaved-thinking-2025-05-14'],
    });
    expect(warnings.join('\n')).toContain('prompt-caching-2024-07-31');

    const response = await responseEvent(traceId);
    expect(response.gen_ai).toMatchObject({ input_tokens: 40, output_tokens: 9 });
    const cost = (40 * PRICE.input + 9 * PRICE.output + 8 * PRICE.cacheWrite + 100 * PRICE.cacheRead) / 1_000_000;
    expect(response.cost?.microdollars).toBe(cost);
  });

  it('streams: event-stream frames become the Anthropic SSE the SDK expects, usage and cost included', async () => {
    bedrock.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'A streamed answer from Bedrock.' }], usage: { input_tokens: 21, output_tokens: 6 } } });
    const traceId = newTestTraceId();
    const stream = sdkClient(gateway, token, traceId).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Stream please' }] });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const message = await stream.finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'A streamed answer from Bedrock.' }]);
    expect(deltas.length).toBeGreaterThan(1);
    expect(message.usage).toMatchObject({ input_tokens: 21, output_tokens: 6 });
    expect(lastRequest().path).toBe(`/model/${encodeURIComponent(BEDROCK_MODEL)}/invoke-with-response-stream`);
    expect(lastRequest().body).not.toHaveProperty('stream');
    const response = await responseEvent(traceId);
    expect(response.cost?.microdollars).toBe((21 * PRICE.input + 6 * PRICE.output) / 1_000_000);
  });

  it('fills the silences of a Bedrock stream with our own pings (Bedrock sends none)', async () => {
    tuneUpstreams({ pingIntervalMs: 100, logger: { warn: () => {} } });
    bedrock.setBehaviour({ kind: 'reply', pause: { afterEvents: 2, ms: 700 } });
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-trace-id': newTestTraceId() },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Think first' }] }),
    });
    const text = await response.text();
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = [...text.matchAll(/^event: (.+)$/gm)].map((match) => match[1]);
    expect(events.slice(0, 2)).toEqual(['message_start', 'content_block_start']);
    expect(events).toContain('ping');
    expect(events.at(-1)).toBe('message_stop');
    expect(text).not.toContain('amazon-bedrock-invocationMetrics');
  });

  it('carries a tool-use round trip, images and thinking both ways', async () => {
    const client = sdkClient(gateway, token, newTestTraceId());
    bedrock.setBehaviour({ kind: 'reply', reply: toolUseReply('get_weather', { city: 'Paris' }, { preamble: 'Checking.', id: 'toolu_bedrock_1' }) });
    const tools = [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }];
    const first = await client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 200, tools, messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content[1]).toEqual({ type: 'tool_use', id: 'toolu_bedrock_1', name: 'get_weather', input: { city: 'Paris' } });

    bedrock.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'thinking', thinking: 'It is sunny per the tool.', signature: 'sig-bedrock-1' }, { type: 'text', text: 'Sunny.' }] } });
    const image = { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: TINY_PNG.toString('base64') } };
    const second = await client.messages
      .stream({
        model: 'claude-sonnet-4-5',
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        tools,
        messages: [
          { role: 'user', content: [image, { type: 'text', text: 'Weather in Paris?' }] },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_bedrock_1', content: 'sunny, 24°C' }] },
        ],
      })
      .finalMessage();
    expect(second.content).toEqual([
      { type: 'thinking', thinking: 'It is sunny per the tool.', signature: 'sig-bedrock-1' },
      { type: 'text', text: 'Sunny.' },
    ]);
    const sent = lastRequest().body as { messages: { content: unknown }[]; thinking: unknown };
    expect(sent.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    expect(sent.messages[0]!.content).toEqual([image, { type: 'text', text: 'Weather in Paris?' }]);
    expect(sent.messages[2]!.content).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_bedrock_1', content: 'sunny, 24°C' }]);
  });

  it('ends a stream that fails mid-way (an exception frame) with an error event, its details only in the log', async () => {
    bedrock.setBehaviour({
      kind: 'reply',
      reply: { content: [{ type: 'text', text: 'This will not finish properly.' }], exceptionAfterEvents: { afterEvents: 3, type: 'modelStreamErrorException', message: 'Model failed for account 123456789012' } },
    });
    const traceId = newTestTraceId();
    const stream = sdkClient(gateway, token, traceId).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Go' }] });
    const error = await rejectionOf(stream.finalMessage());
    expect(error.message).toContain('modelStreamErrorException');
    expect(error.message).not.toContain('123456789012');
    expect(warnings.join('\n')).toContain('123456789012');
    const response = await responseEvent(traceId);
    expect(response.outcome).not.toBe('success');
  });

  it('answers at once when Bedrock refuses before any byte, hiding account ids but relaying "Input is too long."', async () => {
    bedrock.setBehaviour(bedrockFailures.throttled());
    const throttled = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(throttled.status).toBeGreaterThanOrEqual(429);
    expect(JSON.stringify(throttled.error)).not.toContain('123456789012');

    bedrock.setBehaviour(bedrockFailures.validation());
    const invalid = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.error)).not.toMatch(/123456789012|arn:aws/);
    expect(warnings.join('\n')).toContain('arn:aws:bedrock:us-east-1:123456789012');

    bedrock.setBehaviour(bedrockFailures.inputTooLong());
    const tooLong = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(tooLong.status).toBe(400);
    expect(tooLong.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'Input is too long.' } });

    bedrock.setBehaviour({ kind: 'hang' });
    const hung = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(hung.status).toBeGreaterThanOrEqual(500);
  });

  it('serves a Claude application inference profile (an ARN naming no model) through InvokeModel when the target says api: invoke', async () => {
    bedrock.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'From the profile.' }], usage: { input_tokens: 5, output_tokens: 4 } } });
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId).messages.create({ model: 'claude-profile', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'From the profile.' }]);
    expect(lastRequest().path).toBe(`/model/${encodeURIComponent(CLAUDE_PROFILE)}/invoke`);
    expect(lastRequest().body).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', messages: [{ role: 'user', content: 'Hi' }] });
    expect((await responseEvent(traceId)).cost?.microdollars).toBe((5 * PRICE.input + 4 * PRICE.output) / 1_000_000);
  });

  it('counts tokens with Bedrock CountTokens', async () => {
    const counted = await sdkClient(gateway, token, newTestTraceId()).messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Count these words please' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
    const seen = lastRequest();
    expect(seen.path).toBe(`/model/${encodeURIComponent(BEDROCK_MODEL)}/count-tokens`);
    const inner = JSON.parse(Buffer.from((seen.body as { input: { invokeModel: { body: string } } }).input.invokeModel.body, 'base64').toString('utf8')) as Record<string, unknown>;
    expect(inner).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 1024, messages: [{ role: 'user', content: 'Count these words please' }] });
    expect(inner).not.toHaveProperty('model');
  });

  it('treats a refused signature (wrong credentials) as our misconfiguration, never relaying the AWS message', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-right-secret';
    resetAwsCredentials();
    try {
      const error = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
      expect(error.status).toBeGreaterThanOrEqual(500);
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect(warnings.join('\n')).toContain('The request signature we calculated does not match');
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = FAKE_AWS_CREDENTIALS.secretAccessKey;
      resetAwsCredentials();
    }
  });
});

describe('other models on Bedrock (Converse)', () => {
  it('streams through ConverseStream with the usage that comes after messageStop, and prices it', async () => {
    bedrock.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'Llama says hello.' }], usage: { input_tokens: 25, output_tokens: 5, cache_read_input_tokens: 50 } } });
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId)
      .messages.stream({ model: 'llama-bedrock', max_tokens: 80, top_k: 20, stop_sequences: ['###'], system: [{ type: 'text', text: 'Be kind.', cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: 'Hi' }] })
      .finalMessage();
    expect(message).toMatchObject({ content: [{ type: 'text', text: 'Llama says hello.' }], stop_reason: 'end_turn', usage: { input_tokens: 25, output_tokens: 5, cache_read_input_tokens: 50 } });
    const seen = lastRequest();
    expect(seen.path).toBe(`/model/${encodeURIComponent(LLAMA_MODEL)}/converse-stream`);
    expect(seen.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(seen.body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      system: [{ text: 'Be kind.' }, { cachePoint: { type: 'default' } }],
      inferenceConfig: { maxTokens: 80, stopSequences: ['###'] },
      additionalModelRequestFields: { top_k: 20 },
    });
    expect((await responseEvent(traceId)).cost?.microdollars).toBe(Math.round((25 * 720_000 + 5 * 720_000 + 50 * 720_000) / 1_000_000));
  });

  it('carries a tool-use round trip and images both ways, non-streaming too, without relaying the reasoning', async () => {
    const client = sdkClient(gateway, token, newTestTraceId());
    const tools = [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }];
    bedrock.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'thinking', thinking: 'I should call the tool.', signature: '' }, ...toolUseReply('get_weather', { city: 'Oslo' }, { id: 'tooluse_llama_1' }).content!] } });
    const image = { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: TINY_PNG.toString('base64') } };
    const question = { role: 'user' as const, content: [image, { type: 'text' as const, text: 'Weather in Oslo?' }] };
    const first = await client.messages.stream({ model: 'llama-bedrock', max_tokens: 100, tools, tool_choice: { type: 'any' }, messages: [question] }).finalMessage();
    expect(first.content).toEqual([{ type: 'tool_use', id: 'tooluse_llama_1', name: 'get_weather', input: { city: 'Oslo' } }]);
    expect(first.stop_reason).toBe('tool_use');
    expect(lastRequest().body).toMatchObject({
      messages: [{ role: 'user', content: [{ image: { format: 'png', source: { bytes: TINY_PNG.toString('base64') } } }, { text: 'Weather in Oslo?' }] }],
      toolConfig: { tools: [{ toolSpec: { name: 'get_weather', description: 'Weather by city', inputSchema: { json: tools[0]!.input_schema } } }], toolChoice: { any: {} } },
    });

    bedrock.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'Cold in Oslo.' }] } });
    const second = await client.messages.create({
      model: 'llama-bedrock',
      max_tokens: 100,
      tools,
      messages: [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tooluse_llama_1', content: '-5°C', is_error: false }] }],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'Cold in Oslo.' }]);
    expect(lastRequest().path).toBe(`/model/${encodeURIComponent(LLAMA_MODEL)}/converse`);
    expect((lastRequest().body as { messages: unknown[] }).messages.slice(1)).toEqual([
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_llama_1', name: 'get_weather', input: { city: 'Oslo' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_llama_1', content: [{ text: '-5°C' }] } }] },
    ]);
  });

  it('ends a Converse stream that fails mid-way with an error event', async () => {
    bedrock.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'Partial answer here.' }], exceptionAfterEvents: { afterEvents: 2, type: 'throttlingException', message: 'Rate exceeded for 123456789012' } } });
    const traceId = newTestTraceId();
    const error = await rejectionOf(sdkClient(gateway, token, traceId).messages.stream({ model: 'llama-bedrock', max_tokens: 50, messages: [{ role: 'user', content: 'Go' }] }).finalMessage());
    expect(error.message).toContain('throttlingException');
    expect(error.message).not.toContain('123456789012');
    expect((await responseEvent(traceId)).outcome).not.toBe('success');
  });
});
