// Claude in Microsoft Azure AI Foundry (`type: foundry`) through the gateway, driven by an
// unmodified @anthropic-ai/sdk client: the Messages API under the resource's /anthropic path with
// the resource key or a Microsoft Entra ID token, everything else passed through as for Anthropic.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '@/lib/gateway/upstreams';
import { anthropicFailures, startFakeFoundry, TINY_PNG, toolUseReply, type FakeAnthropic } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, tokenFor, type GatewayHarness } from './harness';
import { rejectionOf, responseEvent, sdkClient } from './cloud';

const PRICE = { input: 3_000_000, output: 15_000_000 };

/**
 * A managed identity token endpoint as App Service and Azure Functions provide it (IDENTITY_ENDPOINT
 * + IDENTITY_HEADER), the one @azure/identity's DefaultAzureCredential reaches over plain http.
 */
interface FakeIdentityEndpoint {
  url: string;
  requests: { resource: string | null; identityHeader: string | undefined }[];
  close(): Promise<void>;
}

const IDENTITY_HEADER = 'identity-header-secret';
const ENTRA_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-token-for-foundry.sig';

async function startFakeIdentityEndpoint(): Promise<FakeIdentityEndpoint> {
  const requests: FakeIdentityEndpoint['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const identityHeader = req.headers['x-identity-header'] as string | undefined;
    requests.push({ resource: url.searchParams.get('resource'), identityHeader });
    res.setHeader('content-type', 'application/json');
    if (identityHeader !== IDENTITY_HEADER) {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: 'invalid_request', error_description: 'missing identity header' }));
      return;
    }
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    res.end(JSON.stringify({ access_token: ENTRA_TOKEN, expires_on: String(expiresOn), resource: url.searchParams.get('resource'), token_type: 'Bearer' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/msi/token`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let foundry: FakeAnthropic;
let entraFoundry: FakeAnthropic;
let identity: FakeIdentityEndpoint;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;
const warnings: string[] = [];

const config = () => `
providers:
  azure-foundry: { type: foundry, base_url: ${foundry.url}/anthropic, api_key_env: GATEHOUSE_TEST_FOUNDRY_KEY, max_retries: 0, timeout_ms: 3000 }
  azure-foundry-entra: { type: foundry, base_url: ${entraFoundry.url}/anthropic, max_retries: 0, timeout_ms: 3000 }
models:
  claude-foundry-entra:
    targets: [{ provider: azure-foundry-entra, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: ${PRICE.input}, output_per_mtok_microdollars: ${PRICE.output} }
  claude-foundry:
    targets: [{ provider: azure-foundry, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: ${PRICE.input}, output_per_mtok_microdollars: ${PRICE.output} }
`;

beforeAll(async () => {
  process.env.GATEHOUSE_TEST_FOUNDRY_KEY = 'foundry-resource-key';
  foundry = await startFakeFoundry({ apiKey: 'foundry-resource-key' });
  // Without api_key_env the adapter asks DefaultAzureCredential, which finds the managed identity
  // endpoint in the environment (read when the credential is first made, on the first request).
  identity = await startFakeIdentityEndpoint();
  process.env.IDENTITY_ENDPOINT = identity.url;
  process.env.IDENTITY_HEADER = IDENTITY_HEADER;
  entraFoundry = await startFakeFoundry({ apiKey: ENTRA_TOKEN });
  gateway = await startGateway(config(), 'foundry');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  await foundry.close();
  await entraFoundry.close();
  await identity.close();
  delete process.env.IDENTITY_ENDPOINT;
  delete process.env.IDENTITY_HEADER;
  await gateway.close();
  resetUpstreamTuning();
});

beforeEach(() => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details ?? {})}`) } });
  foundry.setBehaviour({ kind: 'reply' });
  entraFoundry.setBehaviour({ kind: 'reply' });
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

  it('without a key, sends a Microsoft Entra ID token from the managed identity, fetched once and reused', async () => {
    entraFoundry.setBehaviour({ kind: 'reply', reply: { content: [{ type: 'text', text: 'Hello with Entra ID.' }], usage: { input_tokens: 4, output_tokens: 3 } } });
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId).messages.create({ model: 'claude-foundry-entra', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello with Entra ID.' }]);
    const seen = entraFoundry.requests.at(-1)!;
    expect(seen.path).toBe('/anthropic/v1/messages');
    expect(seen.headers.authorization).toBe(`Bearer ${ENTRA_TOKEN}`);
    expect(seen.headers['api-key']).toBeUndefined();
    expect(seen.headers['x-api-key']).toBeUndefined();
    // The token was asked for Foundry's resource, with the identity header, and only once.
    expect(identity.requests).toEqual([{ resource: 'https://ai.azure.com', identityHeader: IDENTITY_HEADER }]);
    expect((await responseEvent(traceId)).cost?.microdollars).toBe((4 * PRICE.input + 3 * PRICE.output) / 1_000_000);

    await sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-foundry-entra', max_tokens: 20, messages: [{ role: 'user', content: 'Again' }] });
    expect(entraFoundry.requests.at(-1)!.headers.authorization).toBe(`Bearer ${ENTRA_TOKEN}`);
    expect(identity.requests).toHaveLength(1);
  });
});
