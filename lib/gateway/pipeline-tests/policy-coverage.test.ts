// Policy sees everything that leaves: a secret in any field of a Messages request is caught before
// either kind of upstream (Anthropic passthrough, OpenAI-compatible translation) receives it;
// redaction changes what is sent and what is stored; features that make the provider reach out
// need the policy's leave; images given by URL never make anyone fetch from inside the network.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChains, type AuditEvent } from '@/lib/audit';
import { pool } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { startFakeAnthropic, startFakeImageServer, startFakeOpenAI, TINY_PNG, type FakeAnthropic, type FakeImageServer, type FakeOpenAI } from '@/lib/gateway/testing';
import { resetRemoteImageTuning, tuneRemoteImages } from '@/lib/gateway/upstreams/remote-images';
import { newTestTraceId, startGateway, storedContent, tokenFor, waitForEvents, type GatewayHarness } from './harness';

const ANTHROPIC_MODEL = 'claude-haiku-5-5';
const OPENAI_MODEL = 'local-llm';

function config(upstreams: { anthropic: string; openai: string }, secretsMode: 'block' | 'redact', features = ''): string {
  return `
providers:
  fake-anthropic: { type: anthropic, base_url: ${upstreams.anthropic}, max_retries: 0, timeout_ms: 5000 }
  fake-openai: { type: openai_compatible, base_url: ${upstreams.openai}, max_retries: 0, timeout_ms: 5000 }
models:
  ${ANTHROPIC_MODEL}:
    targets: [{ provider: fake-anthropic, model: haiku-upstream }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 5000000 }
  ${OPENAI_MODEL}:
    targets: [{ provider: fake-openai, model: llama-upstream }]
    price: { input_per_mtok_microdollars: 100000, output_per_mtok_microdollars: 100000 }
policy:
  secrets: { mode: ${secretsMode} }
  upstream_features: {${features}}
`;
}

// Real-shaped credentials, none valid anywhere (AWS's documented AKIAIOSFODNN7EXAMPLE is let
// through by secretlint on purpose, so it would prove nothing here).
const AWS_KEY_ID = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
const ANTHROPIC_KEY = `sk-ant-api03-${randomBytes(69).toString('base64url').slice(0, 93)}AA`;
const GITHUB_TOKEN = `ghp_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
const PRIVATE_KEY = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const SECRETS = [AWS_KEY_ID, ANTHROPIC_KEY, GITHUB_TOKEN, PRIVATE_KEY];
const PRIVATE_KEY_BODY = PRIVATE_KEY.split('\n')[1]!;

let anthropic: FakeAnthropic;
let openai: FakeOpenAI;
let images: FakeImageServer;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;

/** `value` nested `depth` arrays deep. */
const nested = (depth: number, value: unknown): unknown => (depth === 0 ? value : [nested(depth - 1, value)]);

function ask(model: string, extra: Record<string, unknown> = {}, content: unknown = 'hi'): Record<string, unknown> {
  return { model, max_tokens: 32, messages: [{ role: 'user', content }], ...extra };
}

interface Sent {
  status: number;
  error?: { type: string; message: string };
  traceId: string;
}

async function send(body: unknown, headers: Record<string, string> = {}): Promise<Sent> {
  const traceId = newTestTraceId();
  const response = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-trace-id': traceId, ...headers },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { error?: { type: string; message: string } };
  return { status: response.status, error: json.error, traceId };
}

function allUpstreamTraffic(): string {
  return [...anthropic.requests, ...openai.requests].map((request) => request.rawBody).join('\n');
}

async function decisionOf(traceId: string): Promise<AuditEvent> {
  const events = await waitForEvents(traceId, ['policy.decision']);
  const decision = events.find((event) => event.event_type === 'policy.decision');
  if (!decision) throw new Error(`no policy.decision event for ${traceId}`);
  return decision;
}

async function storedPromptOf(traceId: string): Promise<string> {
  const events = await waitForEvents(traceId, ['inference.request']);
  const request = events.find((event) => event.event_type === 'inference.request')!;
  return (await storedContent(request.content_refs![0]!.sha256))!;
}

beforeAll(async () => {
  [anthropic, openai, images] = await Promise.all([startFakeAnthropic(), startFakeOpenAI(), startFakeImageServer()]);
  gateway = await startGateway(config({ anthropic: anthropic.url, openai: openai.url }, 'block'), 'policy-coverage');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  const report = await verifyAuditChains(pool(), { tenantId: user.tenantId });
  await Promise.all([anthropic.close(), openai.close(), images.close()]);
  await gateway.close();
  expect(report.ok).toBe(true);
});

afterEach(async () => {
  resetRemoteImageTuning();
  await gateway.setConfig(config({ anthropic: anthropic.url, openai: openai.url }, 'block'));
});

// [field, the body with a secret there]
const FIELDS: [string, (model: string, secret: string) => Record<string, unknown>][] = [
  ['a search_result block', (m, s) => ask(m, {}, [{ type: 'search_result', source: 'https://wiki.corp.example/deploy', title: 'Deploy', content: [{ type: 'text', text: `use ${s}` }] }])],
  ['a search_result source', (m, s) => ask(m, {}, [{ type: 'search_result', source: `https://wiki.corp.example/?k=${s}`, title: 'Deploy', content: [{ type: 'text', text: 'ok' }] }])],
  ['signed thinking', (m, s) => ({ ...ask(m), messages: [{ role: 'user', content: 'go' }, { role: 'assistant', content: [{ type: 'thinking', thinking: `the key is ${s}`, signature: 'EqQBCkgIAxABGAIiQL' }, { type: 'text', text: 'ok' }] }, { role: 'user', content: 'and?' }] })],
  ['tools[].description', (m, s) => ask(m, { tools: [{ name: 'deploy', description: `Deploys with ${s}`, input_schema: { type: 'object' } }] })],
  ['a tool schema property', (m, s) => ask(m, { tools: [{ name: 'deploy', input_schema: { type: 'object', properties: { key: { type: 'string', default: s } } } }] })],
  ['a document title', (m, s) => ask(m, {}, [{ type: 'document', title: `notes ${s}`, source: { type: 'text', media_type: 'text/plain', data: 'hello' } }])],
  ['a document context', (m, s) => ask(m, {}, [{ type: 'document', context: `from ${s}`, source: { type: 'text', media_type: 'text/plain', data: 'hello' } }])],
  ['an image URL', (m, s) => ask(m, {}, [{ type: 'image', source: { type: 'url', url: `https://img.corp.example/x.png?token=${s}` } }])],
  ['metadata', (m, s) => ask(m, { metadata: { user_id: JSON.stringify({ device_id: s }) } })],
  ['stop_sequences', (m, s) => ask(m, { stop_sequences: ['</done>', s] })],
  ['tool_choice', (m, s) => ask(m, { tools: [{ name: 'deploy', input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: s } })],
  ['a field nobody knows yet', (m, s) => ask(m, { future_field: { note: s } })],
  [
    'a tool input nested 100 levels deep',
    (m, s) => ({ ...ask(m), messages: [{ role: 'user', content: 'go' }, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'deploy', input: { args: nested(100, s) } }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'done' }] }] }),
  ],
];

describe('a secret in each field is blocked before either kind of upstream', () => {
  const cases = FIELDS.flatMap(([field, build], index) => [ANTHROPIC_MODEL, OPENAI_MODEL].map((model) => [field, model, build, SECRETS[index % SECRETS.length]!] as const));

  it.each(cases)('%s, on %s', async (_field, model, build, secret) => {
    const before = anthropic.requests.length + openai.requests.length;
    const refused = await send(build(model, secret));
    expect(refused.status).toBe(400);
    expect(refused.error?.type).toBe('invalid_request_error');
    expect(refused.error?.message).toContain('secret');
    expect(JSON.stringify(refused.error)).not.toContain(secret.slice(4, 20));
    expect((await decisionOf(refused.traceId)).policy).toMatchObject({ decision: 'block', rule: expect.stringMatching(/^policy\.secrets\./) });
    expect(anthropic.requests.length + openai.requests.length).toBe(before);
  });

  it('and no upstream ever received any of them', () => {
    const traffic = allUpstreamTraffic();
    for (const secret of [AWS_KEY_ID, ANTHROPIC_KEY, GITHUB_TOKEN, PRIVATE_KEY_BODY]) expect(traffic).not.toContain(secret);
  });
});

describe('redaction changes what is sent and what is stored', () => {
  it('on the Anthropic upstream: every field, whatever its depth', async () => {
    await gateway.setConfig(config({ anthropic: anthropic.url, openai: openai.url }, 'redact'));
    const body = {
      ...ask(ANTHROPIC_MODEL, {
        system: `deploy key ${AWS_KEY_ID}`,
        tools: [{ name: 'deploy', description: `uses ${GITHUB_TOKEN}`, input_schema: { type: 'object' } }],
        metadata: { user_id: JSON.stringify({ device_id: ANTHROPIC_KEY }) },
        stop_sequences: [AWS_KEY_ID],
        future_field: { note: GITHUB_TOKEN },
      }),
      messages: [
        { role: 'user', content: [{ type: 'search_result', source: 'https://wiki.corp.example', title: 'Keys', content: [{ type: 'text', text: PRIVATE_KEY }] }, { type: 'document', title: AWS_KEY_ID, context: GITHUB_TOKEN, source: { type: 'text', media_type: 'text/plain', data: 'x' } }, { type: 'image', source: { type: 'url', url: `https://img.corp.example/a.png?t=${AWS_KEY_ID}` } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'deploy', input: { args: nested(100, ANTHROPIC_KEY) } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'done' }] },
      ],
    };
    const answer = await send(body);
    expect(answer.status).toBe(200);
    const sent = anthropic.requests.at(-1)!.rawBody;
    const stored = await storedPromptOf(answer.traceId);
    for (const text of [sent, stored]) {
      for (const secret of [AWS_KEY_ID, ANTHROPIC_KEY, GITHUB_TOKEN, PRIVATE_KEY_BODY]) expect(text).not.toContain(secret);
      expect(text).toContain('[REDACTED:privatekey]');
      expect(text).toContain('[REDACTED:aws]');
    }
    expect(JSON.parse(sent)).toMatchObject({ stop_sequences: ['[REDACTED:aws]'], tools: [{ description: 'uses [REDACTED:github]' }] });
  });

  it('on the OpenAI-compatible upstream: the translation is made from the redacted body', async () => {
    await gateway.setConfig(config({ anthropic: anthropic.url, openai: openai.url }, 'redact'));
    const body = {
      ...ask(OPENAI_MODEL, {
        system: `deploy key ${AWS_KEY_ID}`,
        tools: [{ name: 'deploy', description: `uses ${GITHUB_TOKEN}`, input_schema: { type: 'object', properties: { key: { type: 'string', default: ANTHROPIC_KEY } } } }],
        stop_sequences: [AWS_KEY_ID],
      }),
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'deploy' }, { type: 'document', source: { type: 'text', media_type: 'text/plain', data: PRIVATE_KEY } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'deploy', input: { args: nested(100, ANTHROPIC_KEY) } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: `GITHUB_TOKEN=${GITHUB_TOKEN}` }] },
      ],
    };
    const answer = await send(body);
    expect(answer.status).toBe(200);
    const sent = openai.requests.at(-1)!.rawBody;
    const stored = await storedPromptOf(answer.traceId);
    for (const text of [sent, stored]) {
      for (const secret of [AWS_KEY_ID, ANTHROPIC_KEY, GITHUB_TOKEN, PRIVATE_KEY_BODY]) expect(text).not.toContain(secret);
    }
    expect(JSON.parse(sent)).toMatchObject({ stop: ['[REDACTED:aws]'], messages: expect.arrayContaining([{ role: 'tool', tool_call_id: 'toolu_1', content: 'GITHUB_TOKEN=[REDACTED:github]' }]) });
  });

  it('refuses a secret inside signed thinking even in redact mode, saying why', async () => {
    await gateway.setConfig(config({ anthropic: anthropic.url, openai: openai.url }, 'redact'));
    const before = anthropic.requests.length;
    const refused = await send(FIELDS.find(([field]) => field === 'signed thinking')![1](ANTHROPIC_MODEL, GITHUB_TOKEN));
    expect(refused.status).toBe(400);
    expect(refused.error?.message).toMatch(/signed thinking block that cannot be redacted/);
    expect((await decisionOf(refused.traceId)).policy).toMatchObject({ decision: 'block', rule: 'policy.secrets.github' });
    expect(anthropic.requests.length).toBe(before);
  });
});

describe('provider-side features by policy', () => {
  const CLAUDE_CODE_BETAS = 'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24';
  const webFetch = (model = ANTHROPIC_MODEL) => ask(model, { tools: [{ name: 'Read', input_schema: { type: 'object' } }, { type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 5 }] });

  it("passes Claude Code's usual betas through untouched", async () => {
    const answer = await send(ask(ANTHROPIC_MODEL, { context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] } }), { 'anthropic-beta': CLAUDE_CODE_BETAS });
    expect(answer.status).toBe(200);
    expect(anthropic.requests.at(-1)!.headers['anthropic-beta']).toBe(CLAUDE_CODE_BETAS);
  });

  it('refuses a server tool, an MCP server and a reaching beta by default, naming field and policy key, audited', async () => {
    const cases: [Record<string, unknown>, Record<string, string>, string, string][] = [
      [webFetch(), { 'anthropic-beta': 'web-fetch-2025-09-10' }, 'tools[1].type', 'policy.upstream_features.allow_server_tools'],
      [webFetch(OPENAI_MODEL), {}, 'tools[1].type', 'policy.upstream_features.allow_server_tools'],
      [ask(ANTHROPIC_MODEL, { mcp_servers: [{ type: 'url', url: 'https://mcp.attacker.example/sse', name: 'x' }] }), { 'anthropic-beta': 'mcp-client-2025-11-20' }, 'mcp_servers', 'policy.upstream_features.allow_mcp_servers'],
      [ask(ANTHROPIC_MODEL), { 'anthropic-beta': `${CLAUDE_CODE_BETAS},files-api-2025-04-14` }, 'anthropic-beta', 'policy.upstream_features.allow_betas'],
    ];
    for (const [body, headers, field, rule] of cases) {
      const before = anthropic.requests.length + openai.requests.length;
      const refused = await send(body, headers);
      expect(refused.status).toBe(400);
      expect(refused.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining(field) });
      expect(refused.error?.message).toContain(rule);
      expect(await decisionOf(refused.traceId)).toMatchObject({ action: 'upstream.features', outcome: 'denied', policy: { decision: 'deny', rule }, attributes: { field } });
      expect(anthropic.requests.length + openai.requests.length).toBe(before);
    }
  });

  it('allows what gatehouse.yaml allows', async () => {
    await gateway.setConfig(config({ anthropic: anthropic.url, openai: openai.url }, 'block', 'allow_server_tools: [web_fetch]'));
    const allowed = await send(webFetch(), { 'anthropic-beta': `${CLAUDE_CODE_BETAS},web-fetch-2025-09-10` });
    expect(allowed.status).toBe(200);
    expect(anthropic.requests.at(-1)!.body).toMatchObject({ tools: [{ name: 'Read' }, { type: 'web_fetch_20250910' }] });
    // Still refused: what was not listed.
    expect((await send(ask(ANTHROPIC_MODEL, { tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] }))).status).toBe(400);
  });
});

describe('images given by URL on the OpenAI-compatible route', () => {
  it('are fetched by Gatehouse from a public address and sent inline', async () => {
    const imagePort = Number(new URL(images.url).port);
    tuneRemoteImages({ allowAddress: (address, port) => address === '127.0.0.1' && port === imagePort });
    const answer = await send(ask(OPENAI_MODEL, {}, [{ type: 'text', text: 'what is it?' }, { type: 'image', source: { type: 'url', url: `${images.url}/cat.png` } }]));
    expect(answer.status).toBe(200);
    expect(openai.requests.at(-1)!.rawBody).toContain(`data:image/png;base64,${TINY_PNG.toString('base64')}`);
    // The request event records what the client sent.
    expect(await storedPromptOf(answer.traceId)).toContain(`${images.url}/cat.png`);
  });

  it('are refused with a 400 when they point inside the network, and the refusal is audited', async () => {
    const before = openai.requests.length;
    const refused = await send(ask(OPENAI_MODEL, {}, [{ type: 'image', source: { type: 'url', url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' } }]));
    expect(refused.status).toBe(400);
    expect(refused.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('not public (linkLocal)') });
    const events = await waitForEvents(refused.traceId, ['inference.response']);
    expect(events.find((event) => event.event_type === 'inference.response')).toMatchObject({ outcome: 'failure', error: { status: 400, message: expect.stringContaining('remote_images') } });
    expect(openai.requests.length).toBe(before);
  });
});
