// Gemini models through the gateway (`type: gemini`, the Gemini API with an AI Studio key): an
// unmodified @anthropic-ai/sdk client speaks the Messages API to Gatehouse, which translates to
// generateContent / streamGenerateContent and back. The fake refuses a function call in the
// history without its thought signature, as Gemini 3 does, so the round trip proves the echo.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '@/lib/gateway/upstreams';
import { geminiFailures, startFakeGemini, TINY_PNG, type FakeGemini } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, tokenFor, type GatewayHarness } from './harness';
import { rejectionOf, responseEvent, sdkClient } from './cloud';

// µ$ per Mtok: 0.30 $ in, 2.50 $ out, 0.03 $ cache read (gemini-2.5-flash's list prices).
const PRICE = { input: 300_000, output: 2_500_000, cacheRead: 30_000 };

let gemini: FakeGemini;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;
const warnings: string[] = [];

const config = () => `
providers:
  google-ai: { type: gemini, base_url: ${gemini.url}, api_key_env: GATEHOUSE_TEST_GEMINI_KEY, max_retries: 0, timeout_ms: 3000 }
models:
  gemini-flash:
    targets: [{ provider: google-ai, model: gemini-2.5-flash }]
    price: { input_per_mtok_microdollars: ${PRICE.input}, output_per_mtok_microdollars: ${PRICE.output}, cache_read_per_mtok_microdollars: ${PRICE.cacheRead} }
  gemini-listed:
    targets: [{ provider: google-ai, model: gemini-2.5-flash }]
`;

beforeAll(async () => {
  process.env.GATEHOUSE_TEST_GEMINI_KEY = 'AIzaFakeGatehouseKey';
  gemini = await startFakeGemini({ apiKey: 'AIzaFakeGatehouseKey' });
  gateway = await startGateway(config(), 'gemini');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  await gemini.close();
  await gateway.close();
  resetUpstreamTuning();
});

beforeEach(() => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details ?? {})}`) } });
  gemini.setBehaviour({ kind: 'reply' });
  warnings.length = 0;
});

const lastBody = () => gemini.requests.at(-1)!.body as Record<string, unknown>;

describe('Gemini API (type: gemini)', () => {
  it('answers a text request translated both ways, with the key in x-goog-api-key, and prices its usage', async () => {
    gemini.setBehaviour({ kind: 'reply', reply: { parts: [{ text: 'Bonjour from Gemini.' }], usage: { promptTokenCount: 130, candidatesTokenCount: 6, cachedContentTokenCount: 100 } } });
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId).messages.create({
      model: 'gemini-flash',
      max_tokens: 100,
      stop_sequences: ['END'],
      system: [{ type: 'text', text: 'Answer in French.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(message).toMatchObject({ role: 'assistant', content: [{ type: 'text', text: 'Bonjour from Gemini.' }], stop_reason: 'end_turn', usage: { input_tokens: 30, output_tokens: 6, cache_read_input_tokens: 100 } });
    const seen = gemini.requests.at(-1)!;
    expect(seen.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(seen.headers['x-goog-api-key']).toBe('AIzaFakeGatehouseKey');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hello' }] }],
      systemInstruction: { parts: [{ text: 'Answer in French.' }] },
      generationConfig: { maxOutputTokens: 100, stopSequences: ['END'] },
    });
    // cache_control cannot be said to Gemini: dropped, and the operator is told.
    expect(warnings.join('\n')).toContain('cache_control dropped');
    const response = await responseEvent(traceId);
    expect(response.cost?.microdollars).toBe((30 * PRICE.input + 6 * PRICE.output + 100 * PRICE.cacheRead) / 1_000_000);
  });

  it('streams, tool use round trip with the thought signature echoed, images and thinking', async () => {
    const client = sdkClient(gateway, token, newTestTraceId());
    const tools = [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } }];
    gemini.setBehaviour({
      kind: 'reply',
      reply: {
        parts: [{ text: 'The user wants the weather.', thought: true }, { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnLWdlbWluaS0x' }],
        usage: { promptTokenCount: 50, candidatesTokenCount: 10, thoughtsTokenCount: 20 },
      },
    });
    const image = { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: TINY_PNG.toString('base64') } };
    const question = { role: 'user' as const, content: [image, { type: 'text' as const, text: 'Weather in Paris?' }] };
    const first = await client.messages.stream({ model: 'gemini-flash', max_tokens: 500, thinking: { type: 'enabled', budget_tokens: 256 }, tools, tool_choice: { type: 'auto' }, messages: [question] }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    expect(first.usage).toMatchObject({ input_tokens: 50, output_tokens: 30 });
    expect(first.content).toEqual([
      { type: 'thinking', thinking: 'The user wants the weather.', signature: 'gemini:c2lnLWdlbWluaS0x' },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'Paris' } },
    ]);
    expect(lastBody()).toMatchObject({
      contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: TINY_PNG.toString('base64') } }, { text: 'Weather in Paris?' }] }],
      tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather by city', parametersJsonSchema: tools[0]!.input_schema }] }],
      toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
      generationConfig: { maxOutputTokens: 500, thinkingConfig: { thinkingBudget: 256, includeThoughts: true } },
    });

    const toolUse = first.content[1] as { id: string };
    gemini.setBehaviour({ kind: 'reply', reply: { parts: [{ text: 'It is sunny in Paris.' }] } });
    const second = await client.messages
      .stream({
        model: 'gemini-flash',
        max_tokens: 500,
        tools,
        messages: [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'sunny, 24°C' }] }],
      })
      .finalMessage();
    expect(second.content).toEqual([{ type: 'text', text: 'It is sunny in Paris.' }]);
    expect((lastBody().contents as unknown[]).slice(1)).toEqual([
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnLWdlbWluaS0x' }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { result: 'sunny, 24°C' } } }] },
    ]);
  });

  it('ends a stream cut mid-way with an error event, and answers at once when Gemini refuses before any byte', async () => {
    gemini.setBehaviour({ kind: 'die', afterEvents: 1, reply: { parts: [{ text: 'This answer will be cut short by the upstream.' }] } });
    const traceId = newTestTraceId();
    const cut = await rejectionOf(sdkClient(gateway, token, traceId).messages.stream({ model: 'gemini-flash', max_tokens: 100, messages: [{ role: 'user', content: 'Go' }] }).finalMessage());
    expect(JSON.stringify(cut.error)).toContain('api_error');
    expect((await responseEvent(traceId)).outcome).not.toBe('success');

    gemini.setBehaviour(geminiFailures.invalid());
    const invalid = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'gemini-flash', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.error)).not.toContain('fake-project-4242');
    expect(warnings.join('\n')).toContain('fake-project-4242');

    gemini.setBehaviour(geminiFailures.exhausted());
    const exhausted = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'gemini-flash', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(exhausted.status).toBeGreaterThanOrEqual(429);
    expect(JSON.stringify(exhausted.error)).not.toContain('fake-project-4242');

    gemini.setBehaviour({ kind: 'hang' });
    const hung = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'gemini-flash', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(hung.status).toBeGreaterThanOrEqual(500);
  });

  it('prices a Gemini model without a YAML price from the price book', async () => {
    gemini.setBehaviour({ kind: 'reply', reply: { usage: { promptTokenCount: 1000, candidatesTokenCount: 200 } } });
    const traceId = newTestTraceId();
    await sdkClient(gateway, token, traceId).messages.create({ model: 'gemini-listed', max_tokens: 300, messages: [{ role: 'user', content: 'Hi' }] });
    // gemini-2.5-flash at its public list price: 0.30 $ in, 2.50 $ out per million tokens.
    expect((await responseEvent(traceId)).cost?.microdollars).toBe((1000 * 300_000 + 200 * 2_500_000) / 1_000_000);
  });
});
