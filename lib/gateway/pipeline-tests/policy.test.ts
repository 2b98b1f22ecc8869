// Policy on /v1/messages: identity headers, permissions, model access, size, blocklist, secrets
// and limits, each refusal answered in the Anthropic envelope and audited with its rule.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChains, type AuditEvent } from '@/lib/audit';
import { db, pool } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import { newTestTraceId, startGateway, storedContent, tokenFor, waitForEvents, type GatewayHarness } from './harness';

const suffix = randomBytes(3).toString('hex');
const RESEARCH = `research-${suffix}`;
const SUPPORT = `support-${suffix}`;
const LIMITED = `limited-${suffix}`;
const CUSTOM_ROLE = `prompt-engineer-${suffix}`;
const MAX_BODY = 2 * 1024 * 1024;

// Real-shaped credentials (none of them valid anywhere).
const AWS_KEY_ID = 'AKIAZ2X3Y4W5V6U7T8S9';
const ANTHROPIC_KEY = `sk-ant-api03-${'Zx9'.repeat(31)}AA`;
const GITHUB_TOKEN = `ghp_${'A1b2'.repeat(9)}`;

function config(upstreamUrl: string, secretsMode: 'block' | 'redact' = 'redact'): string {
  return `
providers:
  fake: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: 5000 }
models:
  claude-haiku-5-5:
    targets: [{ provider: fake, model: haiku-upstream }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 5000000 }
  claude-sonnet-5-5:
    targets: [{ provider: fake, model: sonnet-upstream }]
    price: { input_per_mtok_microdollars: 3000000, output_per_mtok_microdollars: 15000000 }
policy:
  max_body_bytes: ${MAX_BODY}
  model_access:
    - allow: ['claude-haiku-*']
    - match: { department: ${RESEARCH} }
      allow: ['claude-sonnet-*']
  blocklist:
    terms: [project-nightingale, 機密]
    patterns: ['\\bCUST-\\d{6}\\b']
  secrets:
    mode: ${secretsMode}
limits:
  rate:
    - scope: user
      match: { department: ${LIMITED} }
      requests_per_minute: 1
`;
}

let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let member: UserIdentity;
let memberToken: string;
let tenantId: string;

interface Sent {
  status: number;
  body: { type: string; error?: { type: string; message: string } } & Record<string, unknown>;
  headers: Headers;
  traceId: string;
}

async function send(token: string, body: unknown, headers: Record<string, string> = {}): Promise<Sent> {
  const traceId = newTestTraceId();
  const response = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-trace-id': traceId, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Sent['body'], headers: response.headers, traceId };
}

function ask(text: string, model = 'claude-haiku-5-5'): Record<string, unknown> {
  return { model, max_tokens: 32, messages: [{ role: 'user', content: text }] };
}

async function decisionOf(traceId: string): Promise<AuditEvent> {
  const events = await waitForEvents(traceId, ['policy.decision']);
  const decision = events.find((event) => event.event_type === 'policy.decision');
  if (!decision) throw new Error(`no policy.decision event for ${traceId}`);
  return decision;
}

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gateway = await startGateway(config(upstream.url), 'policy');
  member = await createTestUser(['member']);
  tenantId = member.tenantId;
  // A custom role granting inference, created before the gateway first reads the tenant's roles.
  await db().role.create({ data: { tenantId, name: CUSTOM_ROLE, permissions: ['inference.invoke'] } });
  memberToken = await tokenFor(gateway, member);
});

afterAll(async () => {
  const report = await verifyAuditChains(pool(), { tenantId });
  await upstream.close();
  await gateway.close();
  expect(report.ok).toBe(true);
});

describe('identity headers', () => {
  it('accepts identity headers that repeat the token, by id or by email', async () => {
    expect((await send(memberToken, ask('hi'), { 'x-user-id': member.userId, 'x-tenant-id': member.tenantId })).status).toBe(200);
    expect((await send(memberToken, ask('hi'), { 'x-user-id': member.email.toUpperCase() })).status).toBe(200);
  });

  it('refuses and audits an x-user-id or x-tenant-id that contradicts the token', async () => {
    const before = upstream.requests.length;
    const spoofed = await send(memberToken, ask('hi'), { 'x-user-id': 'ceo@example.com' });
    expect(spoofed.status).toBe(403);
    expect(spoofed.body.error?.type).toBe('permission_error');
    expect(spoofed.headers.get('x-trace-id')).toBe(spoofed.traceId);
    expect(await decisionOf(spoofed.traceId)).toMatchObject({
      outcome: 'denied',
      action: 'identity.check',
      actor: { user_id: member.userId },
      policy: { decision: 'deny', rule: 'identity.header_spoof' },
      attributes: { header: 'x-user-id', claimed: 'ceo@example.com' },
    });
    const otherTenant = await send(memberToken, ask('hi'), { 'x-tenant-id': '00000000-0000-4000-8000-000000000001' });
    expect(otherTenant.status).toBe(403);
    expect((await decisionOf(otherTenant.traceId)).attributes).toMatchObject({ header: 'x-tenant-id' });
    expect(upstream.requests.length).toBe(before);
  });

  it('refuses a malformed x-trace-id but still answers with a trace id', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${memberToken}`, 'x-trace-id': 'not-hex', 'content-type': 'application/json' }, body: JSON.stringify(ask('hi')) });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('permissions and model access', () => {
  it('refuses a caller whose roles lack inference.invoke, and allows one whose custom role grants it', async () => {
    const finance = await createTestUser(['finance']);
    const refused = await send(await tokenFor(gateway, finance), ask('hi'));
    expect(refused.status).toBe(403);
    expect(refused.body.error?.type).toBe('permission_error');
    // Counted per user and minute (see one-way-in.test.ts): written once the window is flushed.
    await drainBackgroundTasks();
    expect(await decisionOf(refused.traceId)).toMatchObject({ action: 'inference.authorize', policy: { decision: 'deny', rule: 'rbac.inference.invoke' }, attributes: { count: 1 } });

    const engineer = await createTestUser([CUSTOM_ROLE]);
    expect((await send(await tokenFor(gateway, engineer), ask('hi'))).status).toBe(200);
  });

  it('answers a denied model with 400 invalid_request_error and audits the rule', async () => {
    const denied = await send(memberToken, ask('hi', 'claude-sonnet-5-5'));
    expect(denied.status).toBe(400);
    expect(denied.body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('claude-sonnet-5-5') });
    expect(await decisionOf(denied.traceId)).toMatchObject({ policy: { decision: 'deny', rule: 'policy.model_access' }, gen_ai: { request_model: 'claude-sonnet-5-5' } });

    const researcher = await createTestUser(['member'], RESEARCH);
    expect((await send(await tokenFor(gateway, researcher), ask('hi', 'claude-sonnet-5-5'))).status).toBe(200);
    const models = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${memberToken}` } });
    expect(((await models.json()) as { data: { id: string }[] }).data.map((model) => model.id)).toEqual(['claude-haiku-5-5']);
  });

  it('says a model nobody configured is not available', async () => {
    const unknown = await send(memberToken, ask('hi', 'gpt-imaginary'));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toEqual({ type: 'invalid_request_error', message: 'model gpt-imaginary is not available on this gateway' });
  });
});

describe('request body', () => {
  it('refuses a body over the cap with 413 before reading it, and audits it', async () => {
    const before = upstream.requests.length;
    const big = await send(memberToken, ask('x'.repeat(MAX_BODY)));
    expect(big.status).toBe(413);
    expect(big.body.error?.type).toBe('request_too_large');
    expect(await decisionOf(big.traceId)).toMatchObject({ policy: { decision: 'deny', rule: 'policy.max_body_bytes' } });
    expect(upstream.requests.length).toBe(before);
  });

  it('answers 411 to a chunked upload without Content-Length', async () => {
    const { port } = new URL(gateway.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/messages', method: 'POST', headers: { authorization: `Bearer ${memberToken}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(JSON.stringify(ask('hi')));
      req.end();
    });
    expect(answer.status).toBe(411);
    expect(JSON.parse(answer.body)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('answers malformed bodies with 400 invalid_request_error, never 500', async () => {
    const cases: [unknown, string][] = [
      ['{"model": ', 'not valid JSON'],
      [[1, 2], 'must be a JSON object'],
      [{ messages: [] }, 'model'],
      [{ model: 'claude-haiku-5-5', max_tokens: 5, messages: 'hi' }, 'messages'],
      [{ model: 'claude-haiku-5-5', messages: [] }, 'max_tokens'],
      [{ model: 'claude-haiku-5-5', max_tokens: -1, messages: [] }, 'max_tokens'],
      [{ model: 'claude-haiku-5-5', max_tokens: 5, stream: 'yes', messages: [] }, 'stream'],
    ];
    for (const [body, mention] of cases) {
      const answer = await send(memberToken, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error?.type).toBe('invalid_request_error');
      expect(answer.body.error?.message).toContain(mention);
    }
  });
});

describe('blocklist', () => {
  it('blocks terms as whole words, case-insensitively, naming the rule and not the text', async () => {
    const blocked = await send(memberToken, ask('Status of PROJECT-NIGHTINGALE please'));
    expect(blocked.status).toBe(400);
    expect(blocked.body.error?.type).toBe('invalid_request_error');
    expect(blocked.body.error?.message).toContain('policy.blocklist.terms[0]');
    expect(blocked.body.error?.message.toLowerCase()).not.toContain('nightingale');
    expect(await decisionOf(blocked.traceId)).toMatchObject({ action: 'content.inspect', outcome: 'denied', policy: { decision: 'block', rule: 'policy.blocklist.terms[0]' } });

    expect((await send(memberToken, ask('nightingales sing; project-nightingaleish is fine'))).status).toBe(200);
    expect((await send(memberToken, ask('これは機密です'))).status).toBe(400);
  });

  it('blocks RE2 patterns anywhere a person writes text, tool results included', async () => {
    const body = {
      model: 'claude-haiku-5-5',
      max_tokens: 32,
      messages: [
        { role: 'user', content: 'look up the customer' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'crm', input: { query: 'latest' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'record CUST-123456 found' }] }] },
      ],
    };
    const blocked = await send(memberToken, body);
    expect(blocked.status).toBe(400);
    expect((await decisionOf(blocked.traceId)).policy).toMatchObject({ rule: 'policy.blocklist.patterns[0]' });
  });
});

describe('secrets', () => {
  it('redacts secrets in the system prompt, messages and tool results before they go upstream', async () => {
    const body = {
      model: 'claude-haiku-5-5',
      max_tokens: 32,
      system: [{ type: 'text', text: `Deploy with ${ANTHROPIC_KEY}` }],
      messages: [
        { role: 'user', content: `my key is ${AWS_KEY_ID}, thanks` },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'read_file', input: { path: '.env' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: `GITHUB_TOKEN=${GITHUB_TOKEN}\n` }] },
      ],
    };
    const answer = await send(memberToken, body);
    expect(answer.status).toBe(200);
    const seen = upstream.requests.at(-1)!;
    for (const secret of [AWS_KEY_ID, ANTHROPIC_KEY, GITHUB_TOKEN]) expect(seen.rawBody).not.toContain(secret);
    expect(seen.body).toMatchObject({
      system: [{ type: 'text', text: 'Deploy with [REDACTED:anthropic]' }],
      messages: [
        { role: 'user', content: 'my key is [REDACTED:aws], thanks' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'read_file', input: { path: '.env' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: 'GITHUB_TOKEN=[REDACTED:github]\n' }] },
      ],
    });

    const events = await waitForEvents(answer.traceId, ['inference.request', 'policy.decision']);
    const redactions = events.filter((event) => event.event_type === 'policy.decision').map((event) => event.policy);
    expect(redactions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ decision: 'redact', rule: 'policy.secrets.aws' }),
        expect.objectContaining({ decision: 'redact', rule: 'policy.secrets.anthropic' }),
        expect.objectContaining({ decision: 'redact', rule: 'policy.secrets.github' }),
      ]),
    );
    const request = events.find((event) => event.event_type === 'inference.request')!;
    expect(request.policy?.decision).toBe('redact');
    // The stored prompt is what went upstream: no secret in the audit trail either.
    const stored = (await storedContent(request.content_refs![0]!.sha256))!;
    expect(stored).toContain('[REDACTED:aws]');
    for (const secret of [AWS_KEY_ID, ANTHROPIC_KEY, GITHUB_TOKEN]) expect(stored).not.toContain(secret);
  });

  it('redacts a secret that is both a top-level key and its value: neither upstream nor any stored row holds it', async () => {
    // An AWS key id of this run alone, so no other test's rows can hold it.
    const secret = `AKIA${Array.from(randomBytes(16), (byte) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[byte % 32]).join('')}`;
    const answer = await send(memberToken, { ...ask('hello'), [secret]: secret, extra: { [secret]: { note: secret } } });
    expect(answer.status).toBe(200);
    const seen = upstream.requests.at(-1)!;
    expect(seen.rawBody).not.toContain(secret);
    expect(seen.body).toMatchObject({ '[REDACTED:aws]': '[REDACTED:aws]', extra: { '[REDACTED:aws]': { note: '[REDACTED:aws]' } } });
    const request = (await waitForEvents(answer.traceId, ['inference.request'])).find((event) => event.event_type === 'inference.request')!;
    expect(request.policy).toMatchObject({ decision: 'redact' });
    const stored = JSON.parse((await storedContent(request.content_refs![0]!.sha256))!) as Record<string, unknown>;
    expect(stored).toEqual({ ...(seen.body as object), model: 'claude-haiku-5-5' });
    const { rows } = await pool().query('SELECT 1 FROM audit_content WHERE position($1 IN body) > 0', [secret]);
    expect(rows).toEqual([]);
  });

  it('in block mode refuses the request, naming the kind of secret but never the secret', async () => {
    await gateway.setConfig(config(upstream.url, 'block'));
    try {
      const before = upstream.requests.length;
      const blocked = await send(memberToken, ask(`please use ${AWS_KEY_ID} for the deploy`));
      expect(blocked.status).toBe(400);
      expect(blocked.body.error?.type).toBe('invalid_request_error');
      expect(blocked.body.error?.message).toContain('AWS Access Key ID');
      expect(JSON.stringify(blocked.body)).not.toContain(AWS_KEY_ID);
      const decision = await decisionOf(blocked.traceId);
      expect(decision).toMatchObject({ policy: { decision: 'block', rule: 'policy.secrets.aws' } });
      expect(JSON.stringify(decision)).not.toContain(AWS_KEY_ID);
      expect(upstream.requests.length).toBe(before);
      // The policy version moved with the reload, and answers say so.
      expect(blocked.headers.get('x-policy-version')).toBe(decision.policy_version);
    } finally {
      await gateway.setConfig(config(upstream.url));
    }
  });

  it('scans a 1 MB adversarial prompt without stalling', async () => {
    const unit = `xoxb-${'a1-'.repeat(30)}! SG.${'a'.repeat(128)}.${'b'.repeat(200)} 😀 Ünïcödé ${'(a+)+'.repeat(4)} `;
    const prompt = unit.repeat(Math.ceil((1024 * 1024) / unit.length));
    const started = performance.now();
    const answer = await send(memberToken, ask(prompt));
    const elapsed = performance.now() - started;
    expect(answer.status).toBe(200);
    expect(upstream.requests.at(-1)!.rawBody).toContain('[REDACTED:slack]');
    // Generous bound: the point is "finishes", not a benchmark (typically well under a second).
    expect(elapsed).toBeLessThan(5_000);
  });
});

describe('limits', () => {
  it('audits a rate-limit refusal with the rule that fired', async () => {
    const limited = await createTestUser(['member'], LIMITED);
    const token = await tokenFor(gateway, limited);
    expect((await send(token, ask('one'))).status).toBe(200);
    const second = await send(token, ask('two'));
    expect(second.status).toBe(429);
    expect(second.body.error?.type).toBe('rate_limit_error');
    expect(await decisionOf(second.traceId)).toMatchObject({ action: 'limits.admit', policy: { decision: 'deny', rule: 'limits.rate[0]' } });
  });
});
