// Google Cloud Vertex AI through the gateway: Claude through rawPredict / streamRawPredict and
// Gemini through generateContent, with an OAuth2 token google-auth-library obtains by workload
// identity federation (an external_account credentials file whose token exchange is the fake's
// STS), driven by an unmodified @anthropic-ai/sdk client. Also: a route that fails over from a
// Bedrock that is down to Vertex.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '@/lib/gateway/upstreams';
import { resetAwsCredentials } from '@/lib/gateway/upstreams/bedrock/signing';
import { resetGoogleAuth } from '@/lib/gateway/upstreams/vertex/auth';
import { bedrockFailures, FAKE_AWS_CREDENTIALS, geminiFailures, startFakeBedrock, startFakeVertex, TINY_PNG, toolUseReply, type FakeBedrock, type FakeVertex } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, tokenFor, type GatewayHarness } from './harness';
import { rejectionOf, responseEvent, sdkClient } from './cloud';

const PROJECT = 'fake-project-4242';
const CLAUDE = 'claude-sonnet-4-5@20250929';
const PRICE = { input: 3_000_000, output: 15_000_000 };

let vertex: FakeVertex;
let bedrock: FakeBedrock;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;
const warnings: string[] = [];

const config = () => `
providers:
  aws: { type: bedrock, region: us-east-1, base_url: ${bedrock.url}, max_retries: 0, timeout_ms: 3000 }
  gcp: { type: vertex, region: us-east5, project: ${PROJECT}, base_url: ${vertex.url}, max_retries: 0, timeout_ms: 3000 }
models:
  claude-vertex:
    targets: [{ provider: gcp, model: "${CLAUDE}" }]
    price: { input_per_mtok_microdollars: ${PRICE.input}, output_per_mtok_microdollars: ${PRICE.output} }
  claude-anywhere:
    targets: [{ provider: aws, model: "anthropic.claude-sonnet-4-5-20250929-v1:0" }, { provider: gcp, model: "${CLAUDE}" }]
    price: { input_per_mtok_microdollars: ${PRICE.input}, output_per_mtok_microdollars: ${PRICE.output} }
  gemini-pro:
    targets: [{ provider: gcp, model: gemini-2.5-pro }]
    price: { input_per_mtok_microdollars: 1250000, output_per_mtok_microdollars: 10000000 }
`;

beforeAll(async () => {
  vertex = await startFakeVertex();
  bedrock = await startFakeBedrock();
  process.env.GOOGLE_APPLICATION_CREDENTIALS = vertex.credentialsFile;
  process.env.AWS_ACCESS_KEY_ID = FAKE_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = FAKE_AWS_CREDENTIALS.secretAccessKey;
  process.env.AWS_SESSION_TOKEN = FAKE_AWS_CREDENTIALS.sessionToken;
  resetGoogleAuth();
  resetAwsCredentials();
  gateway = await startGateway(config(), 'vertex');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  await Promise.all([vertex.close(), bedrock.close()]);
  await gateway.close();
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  resetGoogleAuth();
  resetUpstreamTuning();
});

beforeEach(() => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details ?? {})}`) } });
  vertex.setBehaviour({ kind: 'reply' });
  bedrock.setBehaviour({ kind: 'reply' });
  warnings.length = 0;
});

const lastRequest = () => vertex.requests.at(-1)!;
const claudePath = (method: string) => `/v1/projects/${PROJECT}/locations/us-east5/publishers/anthropic/models/${encodeURIComponent(CLAUDE)}:${method}`;

describe('Claude on Vertex AI (rawPredict)', () => {
  it('answers with the Vertex body and a workload-identity token, and records the cost', async () => {
    vertex.setBehaviour({ kind: 'reply', reply: { claude: { content: [{ type: 'text', text: 'Hello from Vertex.' }], usage: { input_tokens: 20, output_tokens: 4 } } } });
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId, { 'anthropic-beta': 'claude-code-20250219,prompt-caching-2024-07-31' }).messages.create({
      model: 'claude-vertex',
      max_tokens: 64,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from Vertex.' }]);
    const seen = lastRequest();
    expect(seen.path).toBe(claudePath('rawPredict'));
    expect(seen.headers.authorization).toBe(`Bearer ${vertex.issuedTokens[0]}`);
    expect(seen.headers['anthropic-beta']).toBe('claude-code-20250219');
    expect(seen.body).toEqual({
      anthropic_version: 'vertex-2023-10-16',
      max_tokens: 64,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect((await responseEvent(traceId)).cost?.microdollars).toBe((20 * PRICE.input + 4 * PRICE.output) / 1_000_000);
  });

  it('streams thinking, a tool-use round trip and images through streamRawPredict', async () => {
    const client = sdkClient(gateway, token, newTestTraceId());
    vertex.setBehaviour({ kind: 'reply', reply: { claude: toolUseReply('lookup', { q: 'vertex' }, { id: 'toolu_vertex_1' }) } });
    const tools = [{ name: 'lookup', description: 'Look up', input_schema: { type: 'object' as const, properties: { q: { type: 'string' } } } }];
    const first = await client.messages.stream({ model: 'claude-vertex', max_tokens: 100, tools, messages: [{ role: 'user', content: 'Look it up' }] }).finalMessage();
    expect(first.content).toEqual([{ type: 'tool_use', id: 'toolu_vertex_1', name: 'lookup', input: { q: 'vertex' } }]);
    expect(lastRequest().path).toBe(claudePath('streamRawPredict'));
    expect(lastRequest().body).toMatchObject({ stream: true, anthropic_version: 'vertex-2023-10-16' });

    vertex.setBehaviour({ kind: 'reply', reply: { claude: { content: [{ type: 'thinking', thinking: 'Found it.', signature: 'sig-vertex' }, { type: 'text', text: 'Done.' }] } } });
    const image = { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: TINY_PNG.toString('base64') } };
    const second = await client.messages
      .stream({
        model: 'claude-vertex',
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        tools,
        messages: [
          { role: 'user', content: [image, { type: 'text', text: 'Look it up' }] },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_vertex_1', content: 'result' }] },
        ],
      })
      .finalMessage();
    expect(second.content).toEqual([
      { type: 'thinking', thinking: 'Found it.', signature: 'sig-vertex' },
      { type: 'text', text: 'Done.' },
    ]);
    expect((lastRequest().body as { messages: { content: unknown }[] }).messages[0]!.content).toEqual([image, { type: 'text', text: 'Look it up' }]);
  });

  it('counts tokens with count-tokens:rawPredict', async () => {
    const counted = await sdkClient(gateway, token, newTestTraceId()).messages.countTokens({ model: 'claude-vertex', messages: [{ role: 'user', content: 'Count me' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(lastRequest().path).toBe(`/v1/projects/${PROJECT}/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict`);
    expect(lastRequest().body).toMatchObject({ model: CLAUDE, anthropic_version: 'vertex-2023-10-16' });
  });

  it('maps Vertex refusals: the size message as "Input is too long.", others without the project id; a cut stream ends with an error', async () => {
    vertex.setBehaviour(geminiFailures.tooLarge());
    const tooLarge = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-vertex', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.error).toMatchObject({ error: { type: 'invalid_request_error', message: 'Input is too long.' } });

    vertex.setBehaviour({ kind: 'error', status: 404, errorType: 'NOT_FOUND', message: `Publisher Model projects/${PROJECT}/locations/us-east5/publishers/anthropic/models/${CLAUDE} not found.` });
    const missing = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-vertex', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(missing.status).toBe(404);
    expect(JSON.stringify(missing.error)).not.toContain(PROJECT);
    expect(warnings.join('\n')).toContain(PROJECT);

    vertex.setBehaviour({ kind: 'die', afterEvents: 3 });
    const traceId = newTestTraceId();
    await rejectionOf(sdkClient(gateway, token, traceId).messages.stream({ model: 'claude-vertex', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage());
    expect((await responseEvent(traceId)).outcome).not.toBe('success');

    vertex.setBehaviour({ kind: 'hang' });
    const hung = await rejectionOf(sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-vertex', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(hung.status).toBeGreaterThanOrEqual(500);
  });
});

describe('Gemini on Vertex AI (generateContent)', () => {
  it('streams a Gemini answer from the Google publisher with the same translation', async () => {
    vertex.setBehaviour({ kind: 'reply', reply: { gemini: { parts: [{ text: 'Gemini on Vertex here.' }], usage: { promptTokenCount: 8, candidatesTokenCount: 5 } } } });
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId).messages.stream({ model: 'gemini-pro', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'Gemini on Vertex here.' }]);
    expect(message.model).toBe('gemini-2.5-pro');
    expect(lastRequest().url).toBe(`/v1/projects/${PROJECT}/locations/us-east5/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse`);
    expect(lastRequest().headers.authorization).toMatch(/^Bearer ya29\.fake-vertex-/);
    expect((await responseEvent(traceId)).cost?.microdollars).toBe((8 * 1_250_000 + 5 * 10_000_000) / 1_000_000);
  });
});

describe('failover across providers', () => {
  it('serves from Vertex when Bedrock, first in the route, is down', async () => {
    bedrock.setBehaviour(bedrockFailures.unavailable());
    vertex.setBehaviour({ kind: 'reply', reply: { claude: { content: [{ type: 'text', text: 'Vertex took over.' }] } } });
    const before = bedrock.requests.length;
    const traceId = newTestTraceId();
    const message = await sdkClient(gateway, token, traceId).messages.stream({ model: 'claude-anywhere', max_tokens: 50, messages: [{ role: 'user', content: 'Anyone?' }] }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'Vertex took over.' }]);
    expect(bedrock.requests.length).toBe(before + 1);
    expect(lastRequest().path).toBe(claudePath('streamRawPredict'));
    const response = await responseEvent(traceId);
    expect(JSON.stringify(response)).toContain('gcp');
  });
});
