// gateway.default_model and gateway.map_unknown_claude_models: Claude Code signed in to a gateway
// asks for its own default model (claude-opus-4-7); with the administrator's opt-in the gateway
// serves such an id with its default model and records both ids, and without it refuses as ever.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatehouseConfig } from '@/lib/config';
import { ConfigError } from '@/lib/config/errors';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, tokenFor, waitForEvents, type GatewayHarness } from './harness';

let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;

const CONFIG = (upstreamUrl: string, gatewaySection: string) => `
providers:
  fake: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: 5000 }
models:
  claude-sonnet-4-5:
    targets: [{ provider: fake, model: sonnet-upstream }]
    price: { input_per_mtok_microdollars: 0, output_per_mtok_microdollars: 0 }
  claude-haiku-4-5:
    targets: [{ provider: fake, model: haiku-upstream }]
    price: { input_per_mtok_microdollars: 0, output_per_mtok_microdollars: 0 }
${gatewaySection}
`;

const OPTED_IN = 'gateway: { default_model: claude-sonnet-4-5, map_unknown_claude_models: true }';

function sdk(traceId: string): Anthropic {
  return new Anthropic({ baseURL: gateway.url, apiKey: token, maxRetries: 0, defaultHeaders: { 'x-trace-id': traceId } });
}

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gateway = await startGateway(CONFIG(upstream.url, 'gateway: { default_model: claude-sonnet-4-5 }'), 'default-model');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  await upstream.close();
  await gateway.close();
});

describe('gateway.default_model without map_unknown_claude_models', () => {
  it('refuses a Claude id the gateway does not serve, as before', async () => {
    const error = await sdk(newTestTraceId())
      .messages.create({ model: 'claude-opus-4-7', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).message).toContain('model claude-opus-4-7 is not available on this gateway');
  });
});

describe('gateway.map_unknown_claude_models: true', () => {
  beforeAll(async () => {
    await gateway.setConfig(CONFIG(upstream.url, OPTED_IN));
  });

  it('serves an unknown Claude id with the default model, streaming, and records requested and served model', async () => {
    const traceId = newTestTraceId();
    const before = upstream.requests.length;
    const stream = sdk(traceId).messages.stream({ model: 'claude-opus-4-7', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] });
    const message = await stream.finalMessage();
    expect(message.content[0]?.type).toBe('text');
    const sent = upstream.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ model: 'sonnet-upstream', stream: true });

    const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
    const request = events.find((event) => event.event_type === 'inference.request');
    expect(request?.gen_ai).toMatchObject({ request_model: 'claude-sonnet-4-5' });
    expect(request?.attributes).toMatchObject({
      requested_model: 'claude-opus-4-7',
      served_model: 'claude-sonnet-4-5',
      model_mapping: 'gateway.map_unknown_claude_models',
      route: 'model:claude-sonnet-4-5',
    });
  });

  it('serves known models as asked (no mapping recorded) and still refuses ids that are not Claude ids', async () => {
    const traceId = newTestTraceId();
    const before = upstream.requests.length;
    await sdk(traceId).messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.requests[before]!.body).toMatchObject({ model: 'haiku-upstream' });
    const request = (await waitForEvents(traceId, ['inference.request'])).find((event) => event.event_type === 'inference.request');
    expect(request?.attributes).not.toHaveProperty('requested_model');

    const error = await sdk(newTestTraceId())
      .messages.create({ model: 'gpt-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(upstream.requests).toHaveLength(before + 1);
  });

  it('maps count_tokens the same way', async () => {
    const counted = await sdk(newTestTraceId()).messages.countTokens({ model: 'claude-opus-4-7', messages: [{ role: 'user', content: 'count me' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(upstream.requests.at(-1)).toMatchObject({ path: '/v1/messages/count_tokens', body: { model: 'sonnet-upstream' } });
  });
});

describe('gatehouse.yaml checks', () => {
  it('refuses a default model that is not configured, and mapping without a default model', () => {
    expect(() => parseGatehouseConfig('gateway: { default_model: claude-opus-4-7 }\n', 'gatehouse.yaml')).toThrow(ConfigError);
    expect(() => parseGatehouseConfig('gateway: { default_model: claude-opus-4-7 }\n', 'gatehouse.yaml')).toThrow(/gateway\.default_model: unknown model "claude-opus-4-7"/);
    expect(() => parseGatehouseConfig('gateway: { map_unknown_claude_models: true }\n', 'gatehouse.yaml')).toThrow(/gateway\.map_unknown_claude_models: needs gateway\.default_model/);
  });
});
