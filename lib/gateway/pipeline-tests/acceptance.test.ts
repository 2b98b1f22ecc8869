// Acceptance, end to end over HTTP on 127.0.0.1: the real gateway (served as the Node server's data
// plane serves it) in front of a fake Anthropic upstream, with the limits store the environment
// selects (REDIS_URL set → Redis, else process memory).
//   1. A daily budget under 200 concurrent requests: never overspent, the refusals in Anthropic's
//      billing_error shape, and the spend ledger agreeing with the audit trail to the microdollar.
//   2. Revoking a user reaches the gateway (401) and the token endpoint (refresh → invalid_grant).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChains } from '@/lib/audit';
import { pool } from '@/lib/db/client';
import { PromptWalk } from '@/lib/gateway/policy';
import { decideDeviceAuthorization, normalizeUserCode } from '@/lib/oauth/device';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser, postForm, randomTestIp } from '@/lib/oauth/test-harness';
import { revokeUser } from '@/lib/users/revoke';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '../testing';
import { startGateway, tokenFor, type GatewayHarness } from './harness';

const UPSTREAM_KEY = `sk-upstream-acceptance-${process.pid}`;
process.env.GATEHOUSE_TEST_ACCEPTANCE_KEY = UPSTREAM_KEY;

// The arithmetic of the budget test, all in integer microdollars (µ$):
//   price: 10 µ$ per token for input, cache writes and output (10,000,000 µ$ per million tokens;
//          the cache-write rate is set equal to input so the worst case is not taken at a dearer one).
//   prompt: one user message "Count to three." → the gateway's estimate counts the bytes of the
//          keys and values, role(4) + user(4) + content(7) + 15 = 30 bytes = 10 tokens at 3 bytes a
//          token, plus 16 tokens of overhead = 26 tokens.
//   max_tokens: 74, so the worst case is (26 + 74) × 10 = 1,000 µ$ per request.
//   budget: 50 × 1,000 = 50,000 µ$ a day per user: exactly 50 requests at the worst case.
//   actual: the upstream reports 12 input + 7 output tokens = 19 × 10 = 190 µ$, less than reserved.
const PRICE_PER_TOKEN = 10;
const PROMPT = 'Count to three.';
const MESSAGES = [{ role: 'user', content: PROMPT }];
const ESTIMATED_PROMPT_TOKENS = 26;
const MAX_TOKENS = 74;
const WORST_CASE = (ESTIMATED_PROMPT_TOKENS + MAX_TOKENS) * PRICE_PER_TOKEN;
const ADMITTED_AT_WORST_CASE = 50;
const DAILY_BUDGET = ADMITTED_AT_WORST_CASE * WORST_CASE;
const UPSTREAM_USAGE = { input_tokens: 12, output_tokens: 7 };
const ACTUAL_COST = (UPSTREAM_USAGE.input_tokens + UPSTREAM_USAGE.output_tokens) * PRICE_PER_TOKEN;
const CONCURRENT_REQUESTS = 200;

const MODEL = 'acceptance-model';
// Admitting 200 requests takes ~6 s on a quiet 2-core machine, and several times that under load.
const GATE_FALLBACK_MS = 90_000;

function config(upstreamUrl: string): string {
  const rate = PRICE_PER_TOKEN * 1_000_000;
  return `
providers:
  fake:
    type: anthropic
    base_url: ${upstreamUrl}
    api_key_env: GATEHOUSE_TEST_ACCEPTANCE_KEY
    max_retries: 0
    timeout_ms: 20000
models:
  ${MODEL}:
    targets: [{ provider: fake, model: acceptance-upstream }]
    price: { input_per_mtok_microdollars: ${rate}, output_per_mtok_microdollars: ${rate}, cache_write_per_mtok_microdollars: ${rate}, cache_read_per_mtok_microdollars: ${rate} }
limits:
  budgets:
    - { scope: user, period: daily, limit_microdollars: ${DAILY_BUDGET} }
`;
}

/**
 * Holds upstream calls while a test wants every admission decided before any request settles.
 * Budgets reserve the worst case and settle the (smaller) actual cost: if early requests settled
 * while later ones were still being admitted, more than 50 could rightly fit in the budget. The
 * gate makes "200 requests in flight at once" exact instead of a matter of scheduling: it opens
 * when every request is decided, never on a timer while some are not (on a loaded machine a
 * timer did open it early, and 71 requests rightly fitted, which looked like an overspent budget).
 */
class AdmissionGate {
  private forwarded = 0;
  private answered = 0;
  private release!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.release = resolve));
  /** Set when the gate opened before every request was decided; the test then fails saying so. */
  undecided: string | null = null;

  private readonly fallback: NodeJS.Timeout;

  constructor(private readonly total: number) {
    // Only if a request is neither answered nor forwarded: the test then fails on `undecided`
    // before its test timeout instead of hanging. Far longer than admitting 200 requests takes.
    this.fallback = setTimeout(() => this.open(), GATE_FALLBACK_MS);
  }

  /** An upstream call arrived (its request passed admission). */
  forwardedOne(): void {
    this.forwarded += 1;
    this.check();
  }

  /** The client got an answer without an upstream call (refused at admission). */
  answeredOne(): void {
    this.answered += 1;
    this.check();
  }

  /** Lets held calls go: at the end, or when something went wrong and they would otherwise hang. */
  open(): void {
    clearTimeout(this.fallback);
    if (this.forwarded + this.answered < this.total) this.undecided ??= `${this.forwarded} forwarded and ${this.answered} refused of ${this.total} when the gate opened`;
    this.release();
  }

  private check(): void {
    if (this.forwarded + this.answered >= this.total) this.open();
  }
}

let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let gate: AdmissionGate | null = null;
const tenants = new Set<string>();

function postMessages(token: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: MAX_TOKENS, messages: MESSAGES }),
  });
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, everyMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still not the case after ${timeoutMs} ms (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

beforeAll(async () => {
  upstream = await startFakeAnthropic({
    apiKey: UPSTREAM_KEY,
    behaviour: { kind: 'reply', reply: textReply('One, two, three.', { usage: UPSTREAM_USAGE }) },
    onRequest: async (request) => {
      if (!gate || request.path !== '/v1/messages') return;
      const holding = gate;
      holding.forwardedOne();
      await holding.opened;
    },
  });
  gateway = await startGateway(config(upstream.url), 'acceptance');
});

afterAll(async () => {
  const reports = await Promise.all([...tenants].map((tenantId) => verifyAuditChains(pool(), { tenantId })));
  await upstream.close();
  await gateway.close();
  expect(upstream.hookErrors).toEqual([]);
  expect(reports.every((report) => report.ok)).toBe(true);
});

describe('a daily budget under 200 concurrent requests', () => {
  it('admits at most what the worst case allows, refuses the rest with billing_error, and the ledger equals the audit trail', async () => {
    expect(new PromptWalk({ messages: MESSAGES }).estimatedInputTokens()).toBe(ESTIMATED_PROMPT_TOKENS);
    const user = await createTestUser(['member']);
    tenants.add(user.tenantId);
    const token = await tokenFor(gateway, user);

    gate = new AdmissionGate(CONCURRENT_REQUESTS);
    const current = gate;
    let answers: { status: number; headers: Headers; body: unknown }[];
    try {
      answers = await Promise.all(
        Array.from({ length: CONCURRENT_REQUESTS }, async () => {
          const response = await postMessages(token);
          if (response.status !== 200) current.answeredOne();
          return { status: response.status, headers: response.headers, body: await response.json() };
        }),
      );
    } finally {
      current.open();
      gate = null;
    }
    // Every admission was decided before any admitted request could settle and free its reservation.
    expect(current.undecided).toBeNull();

    const succeeded = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status !== 200);
    console.info(`budget acceptance (${process.env.REDIS_URL ? 'redis' : 'memory'} store): ${succeeded.length} of ${CONCURRENT_REQUESTS} succeeded, ${refused.length} refused`);
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    expect(succeeded.length).toBeLessThanOrEqual(ADMITTED_AT_WORST_CASE);
    // Every admission was decided with nothing settled yet, so the budget fits exactly 50 worst cases.
    expect(succeeded.length).toBe(ADMITTED_AT_WORST_CASE);
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.headers.get('x-should-retry')).toBe('false');
      // Nothing is spent yet: the budget is held by the 50 requests in flight, and the message says so.
      expect(answer.body).toMatchObject({
        type: 'error',
        error: { type: 'billing_error', message: expect.stringContaining('this request could cost up to $0.001; $0.00 of your $0.05 daily spend limit remains after $0.05 held for requests in progress') },
      });
    }
    for (const answer of succeeded) expect(answer.body).toMatchObject({ type: 'message', usage: UPSTREAM_USAGE });

    // Settling (ledger, then the response event) happens after each answer: wait for all of it.
    const responses = await until(
      'a response event for every admitted request',
      async () =>
        (
          await pool().query<{ cost: string | null }>(
            "SELECT (event->'cost'->>'microdollars') AS cost FROM audit_events WHERE actor_user_id = $1 AND event_type = 'inference.response'",
            [user.userId],
          )
        ).rows,
      (rows) => rows.length >= succeeded.length,
      10_000,
      50,
    );
    expect(responses.length).toBe(succeeded.length);
    const auditedCost = responses.reduce((sum, row) => sum + Number(row.cost), 0);
    expect(responses.every((row) => Number(row.cost) === ACTUAL_COST)).toBe(true);

    const ledger = await pool().query<{ cost: string; requests: string }>(
      "SELECT coalesce(sum(cost_microdollars), 0)::text AS cost, coalesce(sum(requests), 0)::text AS requests FROM spend_ledger WHERE user_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date",
      [user.userId],
    );
    const ledgerCost = Number(ledger.rows[0]!.cost);
    console.info(`budget acceptance: ledger ${ledgerCost} µ$ = audit ${auditedCost} µ$ ≤ budget ${DAILY_BUDGET} µ$`);
    expect(ledgerCost).toBe(auditedCost);
    expect(Number(ledger.rows[0]!.requests)).toBe(succeeded.length);
    expect(ledgerCost).toBeLessThanOrEqual(DAILY_BUDGET);
    expect(ledgerCost).toBe(succeeded.length * ACTUAL_COST);
  }, GATE_FALLBACK_MS + 30_000);
});

interface TokenBody {
  access_token: string;
  refresh_token: string;
}

/**
 * Signs in as Claude Code does (device grant, no client_id), with the approval given through the
 * same function the /device page calls once the user clicks Approve.
 */
async function deviceSignIn(user: UserIdentity): Promise<TokenBody> {
  const started = await postForm(`${gateway.url}/oauth/device_authorization`, { surface: 'claude_code' }, { 'x-forwarded-for': randomTestIp() });
  expect(started.status).toBe(200);
  const codes = (await started.json()) as { device_code: string; user_code: string };
  expect(await decideDeviceAuthorization(normalizeUserCode(codes.user_code)!, user, true)).toBe(true);
  const issued = await postForm(`${gateway.url}/oauth/token`, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: codes.device_code });
  expect(issued.status).toBe(200);
  return (await issued.json()) as TokenBody;
}

function refresh(refreshToken: string): Promise<Response> {
  return postForm(`${gateway.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

describe('revoking a user', () => {
  it('stops their access token at the gateway and their refresh token at the token endpoint', async () => {
    const user = await createTestUser(['member']);
    tenants.add(user.tenantId);
    const signedIn = await deviceSignIn(user);

    const before = await postMessages(signedIn.access_token);
    expect(before.status).toBe(200);
    // The refresh token works before the revocation (and rotates: the new one is the live one).
    const refreshed = await refresh(signedIn.refresh_token);
    expect(refreshed.status).toBe(200);
    const live = (await refreshed.json()) as TokenBody;
    expect((await postMessages(live.access_token)).status).toBe(200);

    await revokeUser(user.email, { call_source: 'cli' });

    const refusal = await until(
      'the gateway refusing the revoked user',
      async () => {
        const response = await postMessages(signedIn.access_token);
        return { status: response.status, retry: response.headers.get('x-should-retry'), body: (await response.json()) as unknown };
      },
      (answer) => answer.status !== 200,
      30_000,
      250,
    );
    expect(refusal).toMatchObject({ status: 401, retry: 'false', body: { type: 'error', error: { type: 'authentication_error' } } });
    // The token issued by the refresh is refused too: every sign-in of the user is over.
    const rotated = await postMessages(live.access_token);
    expect(rotated.status).toBe(401);
    expect(rotated.headers.get('x-should-retry')).toBe('false');

    const refused = await refresh(live.refresh_token);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
  });
});
