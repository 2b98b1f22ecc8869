import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { GatehouseConfig } from '@/lib/config';
import { closeDatabase, pool } from '@/lib/db/client';
import type { Usage } from '@/lib/gateway/contracts';
import type { Principal } from '@/lib/tokens';
import { GatewayLimits, type LimitsAdmission } from './gateway-limits';
import { postgresSpendLedger, type SpendEntry } from './ledger';
import { MemoryLimitStore } from './memory-store';
import { periodBounds } from './periods';
import { RedisLimitStore } from './redis-store';
import type { LimitStore } from './store';
import { deleteRedisKeys, limitsConfig, testCaller, testDecision, testPrincipal } from './testing/fixtures';
import { retryAfterMs, WINDOW_MS } from './window';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefixes: string[] = [];
function runPrefix(): string {
  const prefix = `${process.env.GATEHOUSE_REDIS_PREFIX ?? 'gatehouse-test'}-${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return prefix;
}
// 10 s into a minute window, on a Wednesday (2026-11-25T10:00:10Z).
const NOW = Date.UTC(2026, 10, 25, 10, 0, 10);

const usage = (input: number, output: number): Usage => ({ input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });

interface Harness {
  limits: GatewayLimits;
  setConfig(config: GatehouseConfig): void;
  setNow(ms: number): void;
}

const opened: GatewayLimits[] = [];

function harness(makeStore: (clock: () => number) => LimitStore, config: GatehouseConfig, prefix = runPrefix()): Harness {
  let current = config;
  let now = NOW;
  const clock = () => now;
  const limits = new GatewayLimits({ store: makeStore(clock), ledger: postgresSpendLedger, config: () => ({ config: current }), prefix, clock, logger: { error: () => undefined } });
  opened.push(limits);
  return { limits, setConfig: (next) => (current = next), setNow: (ms) => (now = ms) };
}

function admit(limits: GatewayLimits, principal: Principal, tokens = { input: 500, output: 500 }, decision = testDecision()): Promise<LimitsAdmission> {
  return limits.admit({ caller: testCaller(principal), model: 'test-model', estimatedInputTokens: tokens.input, maxOutputTokens: tokens.output, decision });
}

async function ledgerSum(tenantId: string): Promise<{ cost: number; requests: number }> {
  const result = await pool().query<{ cost: string | null; requests: string | null }>('SELECT sum(cost_microdollars)::text AS cost, sum(requests)::text AS requests FROM spend_ledger WHERE tenant_id = $1', [tenantId]);
  return { cost: Number(result.rows[0]?.cost ?? 0), requests: Number(result.rows[0]?.requests ?? 0) };
}

function rejected(admission: LimitsAdmission): { response: Response; rule: string } {
  if (admission.ok) throw new Error('expected the request to be refused');
  return admission;
}

function admitted(admission: LimitsAdmission): Extract<LimitsAdmission, { ok: true }> {
  if (!admission.ok) throw new Error(`expected the request to be admitted (${admission.rule})`);
  return admission;
}

afterAll(async () => {
  await Promise.all(opened.map((limits) => limits.close()));
  await Promise.all(prefixes.map((prefix) => deleteRedisKeys(REDIS_URL, prefix)));
  await closeDatabase();
});

const STORES: [string, (clock: () => number) => LimitStore][] = [
  ['memory', (clock) => new MemoryLimitStore(clock)],
  ['redis', () => RedisLimitStore.connect(REDIS_URL)],
];

describe.each(STORES)('limits on the %s store', (_name, makeStore) => {
  it('admits at most what a budget allows when 200 requests arrive at once, and the ledger matches the settled costs', async () => {
    // Worst case per request: 500 + 500 tokens at $1/MTok = 1000 µ$; the budget holds 50 of them.
    const { limits } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: user, period: daily, limit_microdollars: 50000 }\n'));
    const principal = testPrincipal();
    const results = await Promise.all(Array.from({ length: 200 }, () => admit(limits, principal)));
    const passed = results.filter((result) => result.ok);
    expect(passed).toHaveLength(50);
    for (const result of results.filter((r) => !r.ok)) expect(rejected(result).response.status).toBe(429);

    // Each actually costs 400 µ$: the reservations shrink to that.
    await Promise.all(passed.map((result) => admitted(result).reservation.settle({ costMicrodollars: 400, usage: usage(200, 200) })));
    expect(await ledgerSum(principal.tenantId)).toEqual({ cost: 50 * 400, requests: 50 });
    expect(await limits.standing(principal)).toEqual([expect.objectContaining({ spent: 20_000, limit: 50_000, period: 'daily', scope: 'user' })]);

    // 30,000 µ$ left: exactly 30 more worst cases fit.
    const more = await Promise.all(Array.from({ length: 60 }, () => admit(limits, principal)));
    expect(more.filter((result) => result.ok)).toHaveLength(30);
  });

  it('gives a released reservation back, and settles each reservation only once', async () => {
    const { limits } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: user, period: monthly, limit_microdollars: 2000 }\n'));
    const principal = testPrincipal();
    const first = admitted(await admit(limits, principal));
    const second = admitted(await admit(limits, principal));
    expect(first.reservation.worstCaseMicrodollars).toBe(1000);
    rejected(await admit(limits, principal));
    await first.reservation.release();
    await first.reservation.release();
    const third = admitted(await admit(limits, principal));
    await second.reservation.settle({ costMicrodollars: 300, usage: usage(100, 200) });
    await second.reservation.settle({ costMicrodollars: 300, usage: usage(100, 200) });
    await third.reservation.settle({ costMicrodollars: 0, usage: null });
    expect(await limits.standing(principal)).toEqual([expect.objectContaining({ spent: 300 })]);
    expect(await ledgerSum(principal.tenantId)).toEqual({ cost: 300, requests: 2 });
  });

  it('starts a budget from the ledger after a restart instead of from zero', async () => {
    const config = limitsConfig('limits:\n  budgets:\n    - { scope: user, period: weekly, limit_microdollars: 50000 }\n');
    const principal = testPrincipal();
    const before = harness(makeStore, config);
    const spent = admitted(await admit(before.limits, principal));
    await spent.reservation.settle({ costMicrodollars: 49_500, usage: usage(1, 1) });
    // A new process (and, for Redis, a flushed keyspace: a fresh prefix) knows only the ledger.
    const after = harness(makeStore, config);
    const refusal = rejected(await admit(after.limits, principal));
    expect(refusal.response.status).toBe(429);
    expect(refusal.rule).toBe('limits.budgets[0]');
    expect(await after.limits.standing(principal)).toEqual([expect.objectContaining({ spent: 49_500 })]);
  });

  it('reports usage headers at 75% and 95%, and none for a user without a cap', async () => {
    const { limits } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: user, match: { role: capped }, period: monthly, limit_microdollars: 100000 }\n'));
    const principal = testPrincipal({ roles: ['member', 'capped'] });
    const spend = async (amount: number) => admitted(await admit(limits, principal)).reservation.settle({ costMicrodollars: amount, usage: usage(1, 1) });
    const reset = String(Date.UTC(2026, 11, 1) / 1000);

    const fresh = admitted(await admit(limits, principal));
    expect(Object.fromEntries(fresh.headers)).toEqual({
      'anthropic-ratelimit-unified-status': 'allowed',
      'anthropic-ratelimit-unified-representative-claim': 'overage',
      'anthropic-ratelimit-unified-overage-status': 'allowed',
      'anthropic-ratelimit-unified-overage-utilization': '0.00',
      'anthropic-ratelimit-unified-reset': reset,
      'anthropic-ratelimit-unified-overage-reset': reset,
    });
    await fresh.reservation.settle({ costMicrodollars: 74_999, usage: usage(1, 1) });
    const below = admitted(await admit(limits, principal));
    expect(below.headers.get('anthropic-ratelimit-unified-overage-utilization')).toBe('0.74');
    expect(below.headers.has('anthropic-ratelimit-unified-overage-surpassed-threshold')).toBe(false);
    await below.reservation.settle({ costMicrodollars: 1, usage: usage(1, 1) });

    const warned = admitted(await admit(limits, principal));
    expect(warned.headers.get('anthropic-ratelimit-unified-status')).toBe('allowed_warning');
    expect(warned.headers.get('anthropic-ratelimit-unified-overage-status')).toBe('allowed_warning');
    expect(warned.headers.get('anthropic-ratelimit-unified-overage-utilization')).toBe('0.75');
    expect(warned.headers.get('anthropic-ratelimit-unified-overage-surpassed-threshold')).toBe('0.75');
    await warned.reservation.settle({ costMicrodollars: 20_000, usage: usage(1, 1) });

    const nearly = admitted(await admit(limits, principal));
    expect(nearly.headers.get('anthropic-ratelimit-unified-overage-utilization')).toBe('0.95');
    expect(nearly.headers.get('anthropic-ratelimit-unified-overage-surpassed-threshold')).toBe('0.95');
    await nearly.reservation.release();
    await spend(0);

    // Same configuration, no matching cap: no unified headers at all.
    const uncapped = admitted(await admit(limits, testPrincipal({ tenantId: principal.tenantId })));
    expect([...uncapped.headers.keys()]).toEqual([]);
  });

  it('refuses a reached cap with the contract billing_error shape', async () => {
    const { limits } = harness(
      makeStore,
      limitsConfig('limits:\n  budgets:\n    - { scope: user, period: daily, limit_microdollars: 1500, message: "request an increase at https://go.example.com/claude-limits" }\n'),
    );
    const principal = testPrincipal();
    // Settled spend reaches the cap exactly: this, and only this, is "limit reached".
    await admitted(await admit(limits, principal)).reservation.settle({ costMicrodollars: 1500, usage: usage(1, 1) });
    const { response, rule } = rejected(await admit(limits, principal));
    expect(rule).toBe('limits.budgets[0]');
    expect(response.status).toBe(429);
    const reset = Date.UTC(2026, 10, 26) / 1000;
    expect(Object.fromEntries(response.headers)).toEqual({
      'content-type': 'application/json',
      'retry-after': String(reset - NOW / 1000),
      'x-should-retry': 'false',
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-reset': String(reset),
      'anthropic-ratelimit-unified-overage-reset': String(reset),
      'anthropic-ratelimit-unified-overage-utilization': '1',
      'anthropic-ratelimit-unified-overage-surpassed-threshold': '1',
      'anthropic-ratelimit-unified-overage-period': 'daily',
      'anthropic-ratelimit-unified-overage-disabled-reason': 'org_spend_cap_reached',
    });
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'billing_error', message: 'spend limit reached · resets Nov 26 · request an increase at https://go.example.com/claude-limits' },
    });
  });

  it('marks a reached group budget as a group pool and describes the cap that resets last', async () => {
    const { limits } = harness(
      makeStore,
      limitsConfig(
        [
          'limits:',
          '  budgets:',
          '    - { scope: user, period: daily, limit_microdollars: 1500 }',
          '    - { scope: department, match: { department: research }, period: monthly, limit_microdollars: 1500 }',
          '',
        ].join('\n'),
      ),
    );
    const tenantId = randomUUID();
    const researcher = testPrincipal({ tenantId, department: 'research' });
    const colleague = testPrincipal({ tenantId, department: 'research' });
    await admitted(await admit(limits, researcher)).reservation.settle({ costMicrodollars: 1500, usage: usage(1, 1) });
    // Both caps are reached for the researcher; the monthly one resets last.
    const own = rejected(await admit(limits, researcher)).response;
    expect(own.headers.get('anthropic-ratelimit-unified-overage-period')).toBe('monthly');
    expect(own.headers.get('anthropic-ratelimit-unified-overage-scope')).toBe('group_pool');
    expect(own.headers.get('anthropic-ratelimit-unified-reset')).toBe(String(Date.UTC(2026, 11, 1) / 1000));
    // The colleague has spent nothing, but the department pool is what is full.
    const shared = rejected(await admit(limits, colleague));
    expect(shared.rule).toBe('limits.budgets[1]');
    expect((await shared.response.json()).error.message).toBe("your department's spend limit reached · resets Dec 1");
    // Someone in another department is not affected.
    admitted(await admit(limits, testPrincipal({ tenantId, department: 'sales' })));
  });

  it('limits requests per minute over a sliding window, with retry-after', async () => {
    const { limits, setNow } = harness(makeStore, limitsConfig('limits:\n  rate:\n    - { scope: user, requests_per_minute: 5 }\n'));
    const principal = testPrincipal();
    const results = await Promise.all(Array.from({ length: 8 }, () => admit(limits, principal)));
    expect(results.filter((result) => result.ok)).toHaveLength(5);
    const { response, rule } = rejected(results.find((result) => !result.ok)!);
    expect(rule).toBe('limits.rate[0]');
    expect(response.status).toBe(429);
    expect((await response.json()).error.type).toBe('rate_limit_error');
    // 50 s left in this window, then 12 s for the 5 counted to weigh less than 4.
    expect(response.headers.get('retry-after')).toBe('62');
    setNow(NOW + 61_000);
    rejected(await admit(limits, principal));
    setNow(NOW + 63_000);
    admitted(await admit(limits, principal));
  });

  it('counts tokens per minute as the prompt estimate plus max_tokens, corrected to the usage billed', async () => {
    const { limits } = harness(makeStore, limitsConfig('limits:\n  rate:\n    - { scope: department, tokens_per_minute: 1000 }\n'));
    const tenantId = randomUUID();
    const alice = testPrincipal({ tenantId });
    const bob = testPrincipal({ tenantId });
    // 100 prompt + 500 output may be used: 600 counted.
    const first = admitted(await admit(limits, alice, { input: 100, output: 500 }));
    // The department shares the counter: 600 + 600 > 1000.
    expect(rejected(await admit(limits, bob, { input: 100, output: 500 })).rule).toBe('limits.rate[0]');
    // The first request really used 60 input + 40 output tokens: the count drops to 100.
    await first.reservation.settle({ costMicrodollars: 100, usage: usage(60, 40) });
    const second = admitted(await admit(limits, bob, { input: 100, output: 500 }));
    // A released request (nothing spent) gives its whole count back.
    await second.reservation.release();
    admitted(await admit(limits, bob, { input: 100, output: 800 }));
    // A request bigger than the whole limit still gets through once the window is empty.
    const { limits: fresh } = harness(makeStore, limitsConfig('limits:\n  rate:\n    - { scope: user, tokens_per_minute: 1000 }\n'));
    admitted(await admit(fresh, alice, { input: 10, output: 5000 }));
    rejected(await admit(fresh, alice, { input: 10, output: 10 }));
  });

  it('admits at most what fits when 100 requests asking for 100,000 output tokens arrive at once under 2,000 tokens per minute', async () => {
    const { limits } = harness(makeStore, limitsConfig('limits:\n  rate:\n    - { scope: user, tokens_per_minute: 2000 }\n'));
    const greedy = testPrincipal();
    const asked = await Promise.all(Array.from({ length: 100 }, () => admit(limits, greedy, { input: 26, output: 100_000 })));
    // Each could use 100,026 tokens: only a lone one passes, into an empty window.
    expect(asked.filter((result) => result.ok)).toHaveLength(1);
    // 26 + 174 = 200 tokens each: ten fit in 2,000.
    const modest = testPrincipal();
    const fitting = await Promise.all(Array.from({ length: 100 }, () => admit(limits, modest, { input: 26, output: 174 })));
    expect(fitting.filter((result) => result.ok)).toHaveLength(10);
  });

  it('tells a request that does not fit a strict budget what it could cost and what remains, without saying the limit is reached', async () => {
    const { limits } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: user, period: daily, limit_microdollars: 5000 }\n'));
    const principal = testPrincipal();
    // 92 % spent; a request that could cost 1000 µ$ does not fit the 400 µ$ left.
    await admitted(await admit(limits, principal)).reservation.settle({ costMicrodollars: 4600, usage: usage(1, 1) });
    const { response, rule } = rejected(await admit(limits, principal));
    expect(rule).toBe('limits.budgets[0]');
    expect(response.status).toBe(429);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(response.headers.has('anthropic-ratelimit-unified-status')).toBe(false);
    expect((await response.json()).error).toEqual({
      type: 'billing_error',
      message: 'this request could cost up to $0.001; $0.0004 of your $0.005 daily spend limit remains; lower max_tokens or shorten the prompt · resets Nov 26',
    });
    // One that could cost at most 300 µ$ fits.
    admitted(await admit(limits, principal, { input: 100, output: 200 }));

    // What requests in progress hold is said as such.
    const { limits: busy } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: department, period: monthly, limit_microdollars: 2000 }\n'));
    const colleague = testPrincipal();
    admitted(await admit(busy, colleague));
    admitted(await admit(busy, colleague));
    expect((await rejected(await admit(busy, colleague)).response.json()).error.message).toBe(
      "this request could cost up to $0.001; $0.00 of your department's $0.002 monthly spend limit remains after $0.002 held for requests in progress; lower max_tokens, or try again when those requests finish · resets Dec 1",
    );
  });

  it('admits under a soft budget while spend and reservations are under the cap, and bounds the overshoot by one worst case', async () => {
    const config = limitsConfig('limits:\n  budgets:\n    - { scope: user, period: daily, limit_microdollars: 10500, enforcement: soft }\n');
    const { limits } = harness(makeStore, config);
    const principal = testPrincipal();
    // Worst case 1000 µ$ each: admitted while spent + reserved < 10,500, i.e. 11 of 50.
    const results = await Promise.all(Array.from({ length: 50 }, () => admit(limits, principal)));
    const passed = results.filter((result) => result.ok).map(admitted);
    expect(passed).toHaveLength(11);
    // Nothing is spent yet: what is in progress holds the cap, and a smaller request would not fit either.
    expect((await rejected(await admit(limits, principal, { input: 1, output: 1 })).response.json()).error.message).toBe(
      '$0.00 of your $0.01 daily spend limit is spent and requests in progress hold the rest; try again when they finish · resets Nov 26',
    );
    // Each costs its whole worst case: 11,000 µ$, over the cap by less than one worst case.
    const settled = await Promise.all(passed.map((result) => result.reservation.settle({ costMicrodollars: 1000, usage: usage(500, 500) })));
    expect(settled.some((result) => result.overCap.map((cap) => cap.rule).includes('limits.budgets[0]'))).toBe(true);
    expect(await limits.standing(principal)).toEqual([expect.objectContaining({ spent: 11_000, limit: 10_500 })]);
    // Now the cap is reached, and said so.
    const { response } = rejected(await admit(limits, principal, { input: 1, output: 1 }));
    expect((await response.json()).error.message).toBe('spend limit reached · resets Nov 26');

    // A request costing more than the whole cap is still admitted while under it (strict refuses it outright).
    const { limits: small } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: user, period: daily, limit_microdollars: 500, enforcement: soft }\n'));
    admitted(await admit(small, testPrincipal()));
  });

  it('re-checks the cap at settle: an actual cost over the reservation is recorded and the next admission refused', async () => {
    const { limits } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: user, period: daily, limit_microdollars: 2000 }\n'));
    const principal = testPrincipal();
    const first = admitted(await admit(limits, principal));
    // The estimate was short (a server tool, a long prompt): 2,500 µ$ against 1,000 reserved.
    const result = await first.reservation.settle({ costMicrodollars: 2500, usage: usage(1500, 1000) });
    expect(result.recorded).toEqual({ result: 'new', addedMicrodollars: 2500 });
    expect(result.overCap).toEqual([expect.objectContaining({ rule: 'limits.budgets[0]', spent: 2500, limit: 2000 })]);
    expect((await rejected(await admit(limits, principal, { input: 1, output: 1 })).response.json()).error.message).toBe('spend limit reached · resets Nov 26');
  });

  it('lets a reservation nobody settles lapse after gateway.reconcile_after_seconds', async () => {
    const { limits, setNow } = harness(makeStore, limitsConfig('gateway:\n  reconcile_after_seconds: 1\nlimits:\n  budgets:\n    - { scope: user, period: monthly, limit_microdollars: 2000 }\n'));
    const principal = testPrincipal();
    // Two calls whose gateway dies: nobody will settle them.
    admitted(await admit(limits, principal));
    const late = admitted(await admit(limits, principal));
    rejected(await admit(limits, principal));
    // Redis lapses them by its own clock, the memory store by the process's.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    setNow(NOW + 1_100);
    const after = admitted(await admit(limits, principal));
    expect(await limits.standing(principal)).toEqual([expect.objectContaining({ spent: 0 })]);
    // A settle that comes after its reservation lapsed adds its cost without releasing anyone else's.
    await late.reservation.settle({ costMicrodollars: 700, usage: usage(1, 1) });
    admitted(await admit(limits, principal, { input: 150, output: 150 }));
    rejected(await admit(limits, principal, { input: 1, output: 1 }));
    await after.reservation.release();
  });

  it('adds a reconciled call to the budget counters once, releasing its reservation', async () => {
    const { limits } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: user, period: daily, limit_microdollars: 3000 }\n'));
    const principal = testPrincipal();
    const { reservation } = admitted(await admit(limits, principal));
    // The gateway died: the worker's reconciler closes the call at its estimate.
    const call = {
      callId: reservation.callId,
      traceId: randomBytes(16).toString('hex'),
      tenantId: principal.tenantId,
      userId: principal.userId,
      department: principal.department,
      roles: principal.roles,
      model: 'test-model',
      upstream: null,
      at: new Date(NOW),
      usage: usage(500, 500),
      costMicrodollars: 1000,
      usageEstimated: true,
      outcome: 'unknown' as const,
    };
    expect(await limits.reconcile(call)).toEqual({ result: 'new', addedMicrodollars: 1000 });
    expect(await limits.reconcile(call)).toEqual({ result: 'duplicate', addedMicrodollars: 0 });
    expect(await limits.standing(principal)).toEqual([expect.objectContaining({ spent: 1000 })]);
    // Its reservation is gone: two more worst cases fit in what is left.
    admitted(await admit(limits, principal));
    admitted(await admit(limits, principal));
    rejected(await admit(limits, principal));
  });

  it('refuses a request over the route cost ceiling, and an unpriced model under a budget', async () => {
    const { limits } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: tenant, period: monthly, limit_microdollars: 100000000 }\n'));
    const principal = testPrincipal();
    const ceiling = rejected(await admit(limits, principal, { input: 1000, output: 32_000 }, testDecision({ maxCostMicrodollars: 10_000 })));
    expect(ceiling.response.status).toBe(400);
    expect(ceiling.rule).toBe('route.model:test-model.max_cost');
    expect((await ceiling.response.json()).error).toEqual({ type: 'invalid_request_error', message: expect.stringContaining('could cost up to $0.03, over the $0.01 allowed per request') });
    admitted(await admit(limits, principal, { input: 1000, output: 1000 }, testDecision({ maxCostMicrodollars: 10_000 })));

    // More than a whole cap: no amount of waiting helps, so it is a bad request, not a reached limit.
    const { limits: small } = harness(makeStore, limitsConfig('limits:\n  budgets:\n    - { scope: user, period: daily, limit_microdollars: 5000 }\n'));
    const huge = rejected(await admit(small, principal, { input: 1000, output: 32_000 }));
    expect(huge.response.status).toBe(400);
    expect(huge.rule).toBe('limits.budgets[0]');
    expect((await huge.response.json()).error.message).toContain('more than the whole daily spend limit of $0.005');

    const unpriced = testDecision({ requestedModel: 'mystery', targets: [{ provider: 'local', providerType: 'openai_compatible', baseUrl: 'http://127.0.0.1:9', model: 'mystery-7b' }] });
    const refusal = rejected(await limits.admit({ caller: testCaller(principal), model: 'mystery', estimatedInputTokens: 10, maxOutputTokens: 10, decision: unpriced }));
    expect(refusal.response.status).toBe(400);
    expect(refusal.rule).toBe('limits.unpriced_model');
    // With no budget to hold it to, an unpriced model is allowed (and recorded at no cost).
    const { limits: open } = harness(makeStore, limitsConfig(''));
    const free = admitted(await open.admit({ caller: testCaller(principal), model: 'mystery', estimatedInputTokens: 10, maxOutputTokens: 10, decision: unpriced }));
    expect(free.reservation.price).toBeNull();
  });
});

describe('the spend ledger', () => {
  const entry = (principal: Principal, overrides: Partial<SpendEntry> = {}): SpendEntry => ({
    callId: randomUUID(),
    traceId: randomBytes(16).toString('hex'),
    tenantId: principal.tenantId,
    userId: principal.userId,
    department: principal.department,
    model: 'test-model',
    upstream: 'local/test-upstream',
    at: new Date(NOW),
    usage: usage(100, 50),
    costMicrodollars: 150,
    usageEstimated: false,
    outcome: 'success',
    recordedBy: 'gateway',
    ...overrides,
  });

  async function day(tenantId: string): Promise<Record<string, string>> {
    const { rows } = await pool().query<Record<string, string>>(
      `SELECT requests::text, estimated_requests::text, input_tokens::text, output_tokens::text, cost_microdollars::text FROM spend_ledger WHERE tenant_id = $1`,
      [tenantId],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  it('records a call once, whoever records it first', async () => {
    const principal = testPrincipal();
    const once = entry(principal);
    expect(await postgresSpendLedger.record(once)).toEqual({ result: 'new', addedMicrodollars: 150 });
    expect(await postgresSpendLedger.record(once)).toEqual({ result: 'duplicate', addedMicrodollars: 0 });
    expect(await postgresSpendLedger.record({ ...once, recordedBy: 'reconciler', costMicrodollars: 9999 })).toEqual({ result: 'duplicate', addedMicrodollars: 0 });
    // Concurrent records of one call: one wins.
    const raced = entry(principal, { costMicrodollars: 10 });
    const results = await Promise.all(Array.from({ length: 10 }, () => postgresSpendLedger.record(raced)));
    expect(results.filter((result) => result.result === 'new')).toHaveLength(1);
    expect(await day(principal.tenantId)).toEqual({ requests: '2', estimated_requests: '0', input_tokens: '200', output_tokens: '100', cost_microdollars: '160' });
    // The application's role adds and corrects entries; it cannot remove one.
    await expect(pool().query('DELETE FROM spend_entries WHERE call_id = $1', [once.callId])).rejects.toThrow(/permission denied/);
  });

  it('tells a caller whose call id is upper-case that its entry is new, once, alone or in a shared statement', async () => {
    const principal = testPrincipal();
    // The uuid column gives every id back lower-case; the caller's spelling must still find its row.
    const alone = entry(principal, { callId: randomUUID().toUpperCase() });
    expect(await postgresSpendLedger.record(alone)).toEqual({ result: 'new', addedMicrodollars: 150 });
    expect(await postgresSpendLedger.record({ ...alone, callId: alone.callId.toLowerCase() })).toEqual({ result: 'duplicate', addedMicrodollars: 0 });
    const shared = Array.from({ length: 5 }, () => entry(principal, { callId: randomUUID().toUpperCase(), costMicrodollars: 7 }));
    // The same call spelled both ways in one burst is recorded once.
    const spelledAgain = { ...shared[0]!, callId: shared[0]!.callId.toLowerCase() };
    const results = await Promise.all([...shared, spelledAgain].map((one) => postgresSpendLedger.record(one)));
    expect(results.slice(0, 5)).toEqual(shared.map(() => ({ result: 'new', addedMicrodollars: 7 })));
    expect(results[5]).toEqual({ result: 'duplicate', addedMicrodollars: 0 });
    expect(await day(principal.tenantId)).toMatchObject({ requests: '6', cost_microdollars: String(150 + 5 * 7) });
  });

  it('records concurrent settles in shared statements, each caller told about its own entry, and refuses only an entry the database cannot store', async () => {
    const principal = testPrincipal();
    const entries = Array.from({ length: 120 }, (_, index) => entry(principal, { costMicrodollars: index + 1, usageEstimated: index % 4 === 0 }));
    // PostgreSQL text cannot hold NUL: this one entry makes its batch's statement fail.
    const bad = entry(principal, { model: 'bad\u0000model' });
    const results = await Promise.allSettled([...entries, bad].map((one) => postgresSpendLedger.record(one)));
    expect(results.at(-1)!.status).toBe('rejected');
    expect(results.slice(0, -1).map((result) => (result.status === 'fulfilled' ? result.value : null))).toEqual(entries.map((one) => ({ result: 'new', addedMicrodollars: one.costMicrodollars })));
    expect(await day(principal.tenantId)).toEqual({ requests: '120', estimated_requests: '30', input_tokens: '12000', output_tokens: '6000', cost_microdollars: String((120 * 121) / 2) });
    // Recorded again at once, every one is a duplicate and the day does not move.
    expect(new Set((await Promise.all(entries.map((one) => postgresSpendLedger.record(one)))).map((result) => result.result))).toEqual(new Set(['duplicate']));
    expect((await day(principal.tenantId)).requests).toBe('120');
  });

  it('replaces a reconciled estimate by the real figures when the gateway settles late, moving the day by the difference', async () => {
    const principal = testPrincipal();
    const callId = randomUUID();
    const estimate = entry(principal, { callId, upstream: null, usage: usage(100, 1000), costMicrodollars: 1100, usageEstimated: true, outcome: 'unknown', recordedBy: 'reconciler' });
    expect(await postgresSpendLedger.record(estimate)).toEqual({ result: 'new', addedMicrodollars: 1100 });
    expect(await day(principal.tenantId)).toMatchObject({ requests: '1', estimated_requests: '1', cost_microdollars: '1100' });
    expect(await postgresSpendLedger.record(entry(principal, { callId }))).toEqual({ result: 'corrected', addedMicrodollars: -950 });
    expect(await day(principal.tenantId)).toEqual({ requests: '1', estimated_requests: '0', input_tokens: '100', output_tokens: '50', cost_microdollars: '150' });
    const { rows } = await pool().query('SELECT recorded_by, usage_estimated, outcome, upstream FROM spend_entries WHERE call_id = $1', [callId]);
    expect(rows).toEqual([{ recorded_by: 'gateway', usage_estimated: false, outcome: 'success', upstream: 'local/test-upstream' }]);
    // Only once: a second late settle is a duplicate.
    expect(await postgresSpendLedger.record(entry(principal, { callId }))).toEqual({ result: 'duplicate', addedMicrodollars: 0 });
  });
});

describe('limits across processes and outages', () => {
  it('shares rate limits between two gateway processes on one Redis', async () => {
    const prefix = runPrefix();
    const principal = testPrincipal();
    const child = promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'testing/admit-child.ts'), REDIS_URL, prefix, principal.tenantId, principal.userId, String(NOW), '30', '40'],
      { cwd: process.cwd() },
    );
    const { limits } = harness(() => RedisLimitStore.connect(REDIS_URL), limitsConfig('limits:\n  rate:\n    - { scope: user, requests_per_minute: 40 }\n'), prefix);
    const here = await Promise.all(Array.from({ length: 30 }, () => admit(limits, principal)));
    const there = Number((await child).stdout.trim());
    // 60 requests in all against one limit of 40: without a shared counter each process would admit 30.
    expect(here.filter((result) => result.ok).length + there).toBe(40);
  });

  it('fails closed with the fetch_error shape when Redis cannot be reached', async () => {
    const { limits } = harness(() => RedisLimitStore.connect('redis://127.0.0.1:1'), limitsConfig('limits:\n  rate:\n    - { scope: user, requests_per_minute: 40 }\n'));
    const { response, rule } = rejected(await admit(limits, testPrincipal()));
    expect(rule).toBe('limits.store_unavailable');
    expect(response.status).toBe(429);
    expect(Object.fromEntries(response.headers)).toEqual({
      'content-type': 'application/json',
      'x-should-retry': 'false',
      'anthropic-ratelimit-unified-overage-disabled-reason': 'fetch_error',
    });
    expect((await response.json()).error.type).toBe('billing_error');
    // A caller no limit applies to does not need the store at all.
    const { limits: unlimited } = harness(() => RedisLimitStore.connect('redis://127.0.0.1:1'), limitsConfig(''));
    admitted(await admit(unlimited, testPrincipal()));
  });

  it('keeps budget counters under the configured prefix with the tenant hash tag', async () => {
    const prefix = runPrefix();
    const { limits } = harness(() => RedisLimitStore.connect(REDIS_URL), limitsConfig('limits:\n  budgets:\n    - { scope: tenant, period: monthly, limit_microdollars: 5000 }\n'), prefix);
    const principal = testPrincipal();
    const { reservation } = admitted(await admit(limits, principal));
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}:*`);
      const counter = `${prefix}:limits:{${principal.tenantId}}:spend:tenant:all:monthly:2026-11-01`;
      expect(keys.sort()).toEqual([counter, `${counter}:held`]);
      // The reservation is kept by call id, with its own expiry in the held set.
      expect(await redis.hgetall(counter)).toEqual({ spent: '0', reserved: '1000', [`r:${reservation.callId}`]: '1000' });
      expect(await redis.zrange(`${counter}:held`, 0, -1)).toEqual([reservation.callId]);
      expect(await redis.pttl(counter)).toBeGreaterThan(0);
      expect(await redis.pttl(`${counter}:held`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('settles and lapses reservations whose counter Redis evicted and the ledger re-seeded, the held set surviving', async () => {
    const prefix = runPrefix();
    const config = limitsConfig('gateway:\n  reconcile_after_seconds: 1\nlimits:\n  budgets:\n    - { scope: tenant, period: monthly, limit_microdollars: 5000 }\n');
    const { limits } = harness(() => RedisLimitStore.connect(REDIS_URL), config, prefix);
    const principal = testPrincipal();
    const counter = `${prefix}:limits:{${principal.tenantId}}:spend:tenant:all:monthly:2026-11-01`;
    const settled = admitted(await admit(limits, principal));
    admitted(await admit(limits, principal));
    const redis = new Redis(REDIS_URL);
    try {
      // Both keys carry a TTL, so volatile-* eviction may take one and leave the other.
      await redis.del(counter);
      expect(await limits.standing(principal)).toEqual([expect.objectContaining({ spent: 0 })]);
      // Re-seeded with both reservations still in flight held again.
      expect(await redis.hmget(counter, 'spent', 'reserved')).toEqual(['0', '2000']);
      await settled.reservation.settle({ costMicrodollars: 700, usage: usage(1, 1) });
      expect(await limits.standing(principal)).toEqual([expect.objectContaining({ spent: 700 })]);
      expect(await redis.hmget(counter, 'spent', 'reserved')).toEqual(['700', '1000']);
      // The other lapses, releasing exactly its own reservation, and admission goes on.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      admitted(await admit(limits, principal));
      expect(await redis.hmget(counter, 'spent', 'reserved')).toEqual(['700', '1000']);
    } finally {
      redis.disconnect();
    }
  });
});

describe('periods and windows', () => {
  it('computes UTC calendar periods with weeks from Monday', () => {
    const at = (iso: string) => new Date(iso);
    expect(periodBounds('daily', at('2026-11-25T23:59:59.999Z'))).toEqual({ start: at('2026-11-25T00:00:00Z'), end: at('2026-11-26T00:00:00Z') });
    expect(periodBounds('weekly', at('2026-11-25T10:00:00Z'))).toEqual({ start: at('2026-11-23T00:00:00Z'), end: at('2026-11-30T00:00:00Z') });
    // Sunday belongs to the week that began the Monday before; Monday 00:00 starts a new one.
    expect(periodBounds('weekly', at('2026-11-29T23:59:59Z')).start).toEqual(at('2026-11-23T00:00:00Z'));
    expect(periodBounds('weekly', at('2026-11-30T00:00:00Z')).start).toEqual(at('2026-11-30T00:00:00Z'));
    // Weeks cross month and year ends.
    expect(periodBounds('weekly', at('2027-01-01T12:00:00Z'))).toEqual({ start: at('2026-12-28T00:00:00Z'), end: at('2027-01-04T00:00:00Z') });
    expect(periodBounds('monthly', at('2026-12-31T23:00:00Z'))).toEqual({ start: at('2026-12-01T00:00:00Z'), end: at('2027-01-01T00:00:00Z') });
    expect(periodBounds('monthly', at('2028-02-29T12:00:00Z'))).toEqual({ start: at('2028-02-01T00:00:00Z'), end: at('2028-03-01T00:00:00Z') });
  });

  it('computes how long a rate-limited request must wait', () => {
    // Only the previous window is in the way: wait until its weight has decayed enough.
    expect(retryAfterMs({ current: 0, previous: 10, cost: 1, limit: 10, elapsedMs: 0 })).toBe(WINDOW_MS / 10);
    // The current window is full: the rest of it, then part of the next.
    expect(retryAfterMs({ current: 10, previous: 0, cost: 1, limit: 10, elapsedMs: 30_000 })).toBe(30_000 + 6_000);
    // Bigger than the limit: both windows must empty.
    expect(retryAfterMs({ current: 5, previous: 0, cost: 20, limit: 10, elapsedMs: 0 })).toBe(2 * WINDOW_MS);
  });
});
