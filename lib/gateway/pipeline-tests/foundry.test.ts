// Claude in Microsoft Azure AI Foundry (`type: foundry`) through the gateway, driven by an
// unmodified @anthropic-ai/sdk client: the Messages API under the resource's /anthropic path with
// the resource key, everything else passed through as for Anthropic.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '@/lib/gateway/upstreams';
import { anthropicFailures, startFakeFoundry, TINY_PNG, toolUseReply, type FakeAnthropic } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, tokenFor, type GatewayHarness } from './harness';
import { rejectionOf, responseEvent, sdkClient } from './cloud';

const PRICE = { input: 3_000_000, output: 15_000_000 };

let foundry: FakeAnthropic;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;
const warnings: string[] = [];

const config = () => `
providers:
  azure-foundry: { type: foundry, base_url: ${foundry.url}/anthropic, api_key_env: GATEHOUSE_TEST_FOUNDRY_KEY, max_retries: 0, timeout_ms: 3000 }
models:
  claude-foundry:
    targets: [{ provider: azure-foundry, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: ${PRICE.input}, output_per_mtok_microdollars: ${PRICE.output} }
`;

beforeAll(async () => {
  process.env.GATEHOUSE_TEST_FOUNDRY_KEY = 'foundry-resource-key';
  foundry = await startFakeFoundry({ apiKey: 'foundry-resource-key' });
  gateway = await startGateway(config(), 'foundry');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  await foundry.close();
  await gateway.close();
  resetUpstreamTuning();
});

beforeEach(() => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details ?? {})}`) } });
  foundry.setBehaviour({ kind: 'reply' });
  warnings.length = 0;
});

describe('Claude in Azure AI Foundry (type: foundry)', () => {
  it('answers through /anthropic/v1/messages with the resource key and the betas as sent, and records the cost', async () => {
    foundry.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'Hello from Foundry.' }], usage: { input_tokens: 10, output_tokens: 2 } } });
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId, { 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14' }).messages.create({ model: 'claude-foundry', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from Foundry.' }]);
    const seen = foundry.requests.at(-1)!;
    expect(seen.path).toBe('/anthropic/v1/messages');
    expect(seen.headers).toMatchObject({ 'api-key': 'foundry-resource-key', 'x-api-key': 'foundry-resource-key', 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14' });
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.body).toMatchObject({ model: 'claude-sonnet-4-5' });
    expect((await responseEvent(traceId)).cost?.microdollars).toBe((10 * PRICE.input + 2 * PRICE.output) / 1_000_000);
  });

  it('streams thinking, tool use and images, and counts tokens', async () => {
    const client = sdkClient(gateway, token, newTestTraceId());
    foundry.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'thinking', thinking: 'Hmm.', signature: 'sig-foundry' }, ...toolUseReply('look', { at: 'image' }, { id: 'toolu_f1' }).content!] } });
    const image = { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: TINY_PNG.toString('base64') } };
    const tools = [{ name: 'look', input_schema: { type: 'object' as const, properties: { at: { type: 'string' } } } }];
    const first = await client.messages.stream({ model: 'claude-foundry', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, tools, messages: [{ role: 'user', content: [image, { type: 'text', text: 'Look' }] }] }).finalMessage();
    expect(first.content).toEqual([
      { type: 'thinking', thinking: 'Hmm.', signature: 'sig-foundry' },
      { type: 'tool_use', id: 'toolu_f1', name: 'look', input: { at: 'image' } },
    ]);
    foundry.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'Seen.' }] } });
    const second = await client.messages
      .stream({
        model: 'claude-foundry',
        max_tokens: 2048,
        tools,
        messages: [
          { role: 'user', content: [image, { type: 'text', text: 'Look' }] },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_f1', content: 'a cat' }] },
        ],
      })
      .finalMessage();
    expect(second.content).toEqual([{ type: 'text', text: 'Seen.' }]);
    expect(await client.messages.countTokens({ model: 'claude-foundry', messages: [{ role: 'user', content: 'Count' }] })).toMatchObject({ input_tokens: expect.any(Number) });
    expect(foundry.requests.at(-1)!.path).toBe('/anthropic/v1/messages/count_tokens');
  });

  it('ends a cut stream with an error, answers a refusal before any byte at once, and relays prompt-too-long', async () => {
    foundry.setBehaviour({ kind: 'die', afterEvents: 3 });
    const traceId = newTestTraceId();
    await rejectionOf(sdkClient(gateway, token, traceId).messages.stream({ model: 'claude-foundry', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage());
    expect((await responseEvent(traceId)).outcome).not.toBe('success');

    foundry.setBehaviour(anthropicFailures.promptTooLong());
    const tooLong = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-foundry', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(tooLong.error).toMatchObject({ error: { message: 'prompt is too long: 210345 tokens > 200000 maximum' } });

    foundry.setBehaviour(anthropicFailures.rateLimited(60));
    const limited = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-foundry', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(limited.status).toBeGreaterThanOrEqual(429);
    expect(JSON.stringify(limited.error)).not.toContain('org_01FAKEACCOUNT');
  });
});
