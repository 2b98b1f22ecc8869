// The evidence a call leaves, end to end through the Anthropic SDK: the prompt as sent upstream
// (stored per message, reassembled exactly), and the request event committed with its content
// or not at all.
import { randomBytes, randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuditEvent, verifyAuditChains } from '@/lib/audit';
import { superuserClient, withEventsRefused } from '@/lib/audit/testing/fixtures';
import { pool } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '@/lib/gateway/testing';
import { eventsOf, newTestTraceId, startGateway, storedContent, tokenFor, waitForEvents, type GatewayHarness } from './harness';

const UPSTREAM_KEY = `sk-upstream-${randomUUID()}`;
process.env.GATEHOUSE_TEST_EVIDENCE_KEY = UPSTREAM_KEY;

let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;

const CONFIG = (upstreamUrl: string) => `
providers:
  fake:
    type: anthropic
    base_url: ${upstreamUrl}
    api_key_env: GATEHOUSE_TEST_EVIDENCE_KEY
    max_retries: 0
    timeout_ms: 5000
models:
  claude-sonnet-5-5:
    targets: [{ provider: fake, model: claude-sonnet-5-5-upstream }]
    price: { input_per_mtok_microdollars: 3000000, output_per_mtok_microdollars: 15000000 }
policy:
  secrets: { mode: redact }
`;

function sdk(traceId: string): Anthropic {
  return new Anthropic({ baseURL: gateway.url, apiKey: token, maxRetries: 0, defaultHeaders: { 'x-trace-id': traceId } });
}

/**
 * Makes the database refuse every audit_content row containing `marker` (as a failing disk or
 * a constraint would), for the duration of `work`.
 */
async function withContentRefused(marker: string, work: () => Promise<void>): Promise<void> {
  const name = `refuse_content_${randomBytes(4).toString('hex')}`;
  const admin = await superuserClient();
  try {
    await admin.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF position('${marker}' IN NEW.body) > 0 THEN RAISE EXCEPTION 'content refused for the test' USING ERRCODE = 'check_violation'; END IF;
        RETURN NEW;
      END $$`);
    await admin.query(`CREATE TRIGGER ${name} BEFORE INSERT ON audit_content FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    await work();
  } finally {
    await admin.query(`DROP TRIGGER IF EXISTS ${name} ON audit_content`);
    await admin.query(`DROP FUNCTION IF EXISTS ${name}()`);
    await admin.end();
  }
}

beforeAll(async () => {
  upstream = await startFakeAnthropic({ apiKey: UPSTREAM_KEY });
  gateway = await startGateway(CONFIG(upstream.url), 'evidence');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  const report = await verifyAuditChains(pool(), { tenantId: user.tenantId });
  await upstream.close();
  await gateway.close();
  expect(report.ok).toBe(true);
});

describe('gateway evidence', () => {
  it('stores the prompt per message, reassembling to exactly the body the upstream received', async () => {
    upstream.setBehaviour({ kind: 'reply' });
    const conversation: Anthropic.MessageParam[] = [
      { role: 'user', content: `Read the config ${randomUUID()}` },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'gatehouse.yaml' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'tenant: { slug: acme }' }] },
    ];
    const traceId = newTestTraceId();
    await sdk(traceId).messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 256,
      stop_sequences: ['END'],
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      tools: [{ name: 'read_file', description: 'Reads a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }],
      metadata: { user_id: 'u-42' },
      messages: conversation,
    });
    const seen = upstream.requests.at(-1)!;
    const [request] = (await waitForEvents(traceId, ['inference.request'])).filter((event) => event.event_type === 'inference.request');
    expect(request!.content_refs).toHaveLength(1);
    const stored = JSON.parse((await storedContent(request!.content_refs![0]!.sha256))!) as unknown;
    // Exactly what went upstream, but for the model name the route mapped.
    expect(stored).toEqual({ ...(seen.body as object), model: 'claude-sonnet-5-5' });
  });

  it('stores N turns of a growing conversation in O(N) bytes, every turn reassembling to what went upstream', async () => {
    upstream.setBehaviour({ kind: 'reply' });
    // Every message carries the nonce, so this conversation's rows can be told from other files'.
    const nonce = randomUUID();
    const words = (bytes: number) => `${nonce} ${randomBytes(bytes).toString('base64').slice(0, bytes)}`;
    const system = `You are a careful assistant. ${words(4_000)}`;
    const messages: Anthropic.MessageParam[] = [];
    const turns = 30;
    const traceIds: string[] = [];
    const sent: unknown[] = [];
    let bytesAtHalf = 0;
    const storedBytes = async (): Promise<number> => {
      const refs = (await Promise.all(traceIds.map(eventsOf)))
        .flat()
        .filter((event) => event.event_type === 'inference.request')
        .map((event) => Buffer.from(event.content_refs![0]!.sha256, 'hex'));
      // Rows holding the conversation's text, and the rows the events reference (each counted once).
      const { rows } = await pool().query<{ bytes: string }>(
        'SELECT coalesce(sum(byte_size), 0) AS bytes FROM audit_content WHERE tenant_id = $1 AND (position($2 IN body) > 0 OR sha256 = ANY($3::bytea[]))',
        [user.tenantId, nonce, refs],
      );
      return Number(rows[0]!.bytes);
    };
    for (let turn = 1; turn <= turns; turn++) {
      if (turn > 1) messages.push({ role: 'assistant', content: [{ type: 'text', text: words(1_500) }] });
      messages.push({ role: 'user', content: words(1_500) });
      const traceId = newTestTraceId();
      traceIds.push(traceId);
      await sdk(traceId).messages.create({ model: 'claude-sonnet-5-5', max_tokens: 256, system, messages });
      sent.push({ ...(upstream.requests.at(-1)!.body as object), model: 'claude-sonnet-5-5' });
      if (turn === turns / 2) bytesAtHalf = await storedBytes();
    }

    const finalBodyBytes = Buffer.byteLength(JSON.stringify(sent.at(-1)));
    const stored = await storedBytes();
    console.log(`${turns} turns: ${stored} bytes stored, final body ${finalBodyBytes} bytes`);
    // Whole bodies every turn would store about turns/2 times the final body; once per message, about one.
    expect(stored).toBeLessThan(1.5 * finalBodyBytes);
    // Linear growth: the second half of the conversation adds about what the first half stored.
    expect(stored - bytesAtHalf).toBeLessThan(1.5 * bytesAtHalf);
    for (const [turn, traceId] of traceIds.entries()) {
      const request = (await eventsOf(traceId)).find((event) => event.event_type === 'inference.request')!;
      // One reference per event however long the conversation (the schema allows 100): the manifest.
      expect(request.content_refs).toHaveLength(1);
      expect(JSON.parse((await storedContent(request.content_refs![0]!.sha256))!)).toEqual(sent[turn]);
    }
  });

  it('stores a conversation whose early turn was redacted as sent, every row hashing to its address, turn after turn', async () => {
    upstream.setBehaviour({ kind: 'reply' });
    const nonce = randomUUID();
    const awsKeyId = 'AKIAZ2X3Y4W5V6U7T8S9';
    const system = `You are careful (${nonce}). ${'Follow the conventions. '.repeat(40)}`;
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: `${nonce}: deploy with ${awsKeyId}` }];
    for (let turn = 1; turn <= 3; turn++) {
      const traceId = newTestTraceId();
      await sdk(traceId).messages.create({ model: 'claude-sonnet-5-5', max_tokens: 64, system, messages });
      const sent = { ...(upstream.requests.at(-1)!.body as object), model: 'claude-sonnet-5-5' };
      expect(JSON.stringify(sent)).not.toContain(awsKeyId);
      const request = (await waitForEvents(traceId, ['inference.request'])).find((event) => event.event_type === 'inference.request')!;
      expect(request.policy).toMatchObject({ decision: 'redact' });
      // loadDocument checks every row it reads against its SHA-256.
      expect(JSON.parse((await storedContent(request.content_refs![0]!.sha256))!)).toEqual(sent);
      messages.push({ role: 'assistant', content: [{ type: 'text', text: `${nonce} answer ${turn}` }] }, { role: 'user', content: `${nonce} question ${turn}` });
    }
    // Every row of this conversation is stored under the SHA-256 of its bytes, and none holds the key.
    const { rows } = await pool().query<{ rows: string; wrong: string; leaked: string }>(
      `SELECT count(*) AS rows, count(*) FILTER (WHERE sha256 <> sha256(convert_to(body, 'UTF8'))) AS wrong, count(*) FILTER (WHERE position($3 IN body) > 0) AS leaked
         FROM audit_content WHERE tenant_id = $1 AND position($2 IN body) > 0`,
      [user.tenantId, nonce, awsKeyId],
    );
    expect(Number(rows[0]!.rows)).toBeGreaterThan(5);
    expect(rows[0]).toMatchObject({ wrong: '0', leaked: '0' });
  });

  it('refuses a request whose prompt cannot be stored, leaving no request event without its content', async () => {
    const marker = `unstorable-${randomUUID()}`;
    const before = upstream.requests.length;
    const traceId = newTestTraceId();
    await withContentRefused(marker, async () => {
      const refused = await sdk(traceId)
        .messages.create({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: `please keep ${marker}` }] })
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(refused).toBeInstanceOf(Anthropic.InternalServerError);
      expect((refused as Error).message).toMatch(/could not record this request/);
    });
    expect(upstream.requests.length).toBe(before);
    // Neither the event nor any of its content: a request event always has its prompt (or says why not).
    expect((await eventsOf(traceId)).map((event) => event.event_type)).not.toContain('inference.request');
    const { rows } = await pool().query('SELECT 1 FROM audit_content WHERE position($1 IN body) > 0', [marker]);
    expect(rows).toEqual([]);
  });

  it('closes, unbilled, a call refused because one of its events failed after its request event was committed', async () => {
    const before = upstream.requests.length;
    const traceId = newTestTraceId();
    // Redacted: its policy.decision event is written beside the request event, and refused.
    const secret = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    await withEventsRefused(traceId, { eventType: 'policy.decision' }, async () => {
      const refused = await sdk(traceId)
        .messages.create({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: `deploy with ${secret}` }] })
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(refused).toBeInstanceOf(Anthropic.InternalServerError);
    });
    expect(upstream.requests.length).toBe(before);
    const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
    const request = events.find((event) => event.event_type === 'inference.request');
    // The committed request event is answered at once, billing nothing: the reconciler would
    // otherwise close it an hour later at the estimate, as if it had gone upstream.
    expect(request).toBeDefined();
    const response = events.find((event) => event.event_type === 'inference.response');
    expect(response).toMatchObject({ outcome: 'failure', attributes: { call_id: request!.event_id, status: 500 } });
    expect(response!.cost).toBeUndefined();
    const { rows } = await pool().query('SELECT 1 FROM spend_entries WHERE call_id = $1', [request!.event_id]);
    expect(rows).toEqual([]);
  });

  it('records the response even when its completion cannot be stored, saying so', async () => {
    const marker = `unstorable-answer-${randomUUID()}`;
    upstream.setBehaviour({ kind: 'reply', reply: textReply(`The answer is ${marker}.`) });
    const traceId = newTestTraceId();
    await withContentRefused(marker, async () => {
      const answer = await sdk(traceId).messages.create({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'What is the answer?' }] });
      expect(answer.content).toEqual([{ type: 'text', text: `The answer is ${marker}.` }]);
      const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
      const response = events.find((event) => event.event_type === 'inference.response');
      expect(response).toMatchObject({ outcome: 'success', attributes: { completion_not_stored: true, status: 200 } });
      expect(response?.content_refs).toBeUndefined();
    });
    upstream.setBehaviour({ kind: 'reply' });
  });

  it.each([false, true])('keeps evidence on the schema when the upstream reports nonsense usage (stream: %s)', async (stream) => {
    // Negative, fractional, past 2^53 and past any integer: none is a token count, so none is
    // stored or billed (the chained event would otherwise be off-schema evidence).
    upstream.setBehaviour({ kind: 'reply', reply: textReply('Counted.', { usage: { input_tokens: -5, output_tokens: 1.5, cache_read_input_tokens: 1e300, cache_creation_input_tokens: 2 ** 53 } }) });
    const traceId = newTestTraceId();
    const params = { model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Count this.' }] };
    if (stream) await sdk(traceId).messages.stream(params).finalMessage();
    else await sdk(traceId).messages.create(params);
    const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
    const response = events.find((event) => event.event_type === 'inference.response');
    expect(response).toMatchObject({ outcome: 'success', gen_ai: { input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 } });
    expect(Number.isSafeInteger(response!.gen_ai!.output_tokens)).toBe(true);
    expect(parseAuditEvent(response!)).toEqual(response);
    upstream.setBehaviour({ kind: 'reply' });
  });
});
