// The Redis limit store when Redis is slow or the connection breaks, reproduced with a proxy on
// 127.0.0.1 that holds back or swallows replies and drops connections (testing/redis-proxy.ts):
// a command that timed out may still run, and ioredis resends a command whose reply a dropped
// connection lost, so it may run twice. Neither may let a budget or a rate limit be overspent,
// and neither may hold a budget that no request uses.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatehouseConfig } from '@/lib/config';
import { closeDatabase } from '@/lib/db/client';
import type { Usage } from '@/lib/gateway/contracts';
import { drainBackgroundTasks } from '@/lib/platform/background';
import type { Principal } from '@/lib/tokens';
import { GatewayLimits, type LimitsAdmission } from './gateway-limits';
import { budgetCounterKey, callKey, rateCounterKey } from './keys';
import { postgresSpendLedger, type SpendLedger } from './ledger';
import { heldKey, RedisLimitStore } from './redis-store';
import { deleteRedisKeys, limitsConfig, testCaller, testDecision, testPrincipal } from './testing/fixtures';
import { startRedisProxy, type RedisProxy } from './testing/redis-proxy';
import { windowStart } from './window';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `${process.env.GATEHOUSE_REDIS_PREFIX ?? 'gatehouse-test'}-faults-${randomBytes(4).toString('hex')}`;
// Worst case per request: 500 + 500 tokens at $1/MTok = 1000 µ$; the budget holds five.
const BUDGET = limitsConfig('limits:\n  budgets:\n    - { scope: user, period: monthly, limit_microdollars: 5000 }\n');
const usage = (input: number, output: number): Usage => ({ input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });

let proxy: RedisProxy;
let redis: Redis;
const opened: GatewayLimits[] = [];
const errors: string[] = [];

beforeAll(async () => {
  proxy = await startRedisProxy(REDIS_URL);
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await Promise.all(opened.map((limits) => limits.close()));
  await proxy.close();
  redis.disconnect();
  await deleteRedisKeys(REDIS_URL, PREFIX);
  await closeDatabase();
});

function limitsThroughProxy(config: GatehouseConfig, options: { ledger?: SpendLedger; clock?: () => number } = {}): GatewayLimits {
  proxy.replies({ kind: 'pass' });
  const limits = new GatewayLimits({
    store: RedisLimitStore.connect(proxy.url),
    ledger: options.ledger ?? postgresSpendLedger,
    config: () => ({ config }),
    prefix: PREFIX,
    clock: options.clock,
    logger: { error: (message) => errors.push(message) },
  });
  opened.push(limits);
  return limits;
}

function admit(limits: GatewayLimits, principal: Principal): Promise<LimitsAdmission> {
  return limits.admit({ caller: testCaller(principal), model: 'test-model', estimatedInputTokens: 500, maxOutputTokens: 500, decision: testDecision() });
}

function admitted(admission: LimitsAdmission): Extract<LimitsAdmission, { ok: true }> {
  if (!admission.ok) throw new Error(`expected the request to be admitted (${admission.rule})`);
  return admission;
}

function counterOf(principal: Principal): string {
  return budgetCounterKey(PREFIX, 'user', 'monthly', principal, `${new Date().toISOString().slice(0, 7)}-01`);
}

async function counter(principal: Principal): Promise<{ spent: number; reserved: number; held: number }> {
  const key = counterOf(principal);
  const [spent, reserved] = await redis.hmget(key, 'spent', 'reserved');
  return { spent: Number(spent), reserved: Number(reserved), held: await redis.zcard(heldKey(key)) };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not the case after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Runs `command` with Redis's replies swallowed until Redis shows `ran` true, then drops the
 * connection: ioredis reconnects and resends the command whose reply was lost, which runs again.
 */
async function lostReplyResent<T>(command: () => Promise<T>, ran: () => Promise<boolean>): Promise<T> {
  const before = proxy.connections;
  proxy.replies({ kind: 'swallow' });
  const pending = command();
  await until('the command ran in Redis', ran);
  proxy.replies({ kind: 'pass' });
  proxy.cut();
  const result = await pending;
  expect(proxy.connections).toBeGreaterThan(before);
  return result;
}

describe('the Redis limit store through a faulty connection', () => {
  it('reserves once for an admission ioredis resends after its reply was lost', async () => {
    const limits = limitsThroughProxy(BUDGET);
    const principal = testPrincipal();
    await limits.standing(principal);
    const { reservation } = admitted(await lostReplyResent(() => admit(limits, principal), async () => (await counter(principal)).held === 1));
    expect(await counter(principal)).toEqual({ spent: 0, reserved: 1000, held: 1 });
    await reservation.settle({ costMicrodollars: 300, usage: usage(100, 200) });
    expect(await counter(principal)).toEqual({ spent: 300, reserved: 0, held: 0 });
  });

  it('adds a settled cost once when ioredis resends the settle', async () => {
    const limits = limitsThroughProxy(BUDGET);
    const principal = testPrincipal();
    const { reservation } = admitted(await admit(limits, principal));
    await lostReplyResent(() => reservation.settle({ costMicrodollars: 300, usage: usage(100, 200) }), async () => (await counter(principal)).spent === 300);
    expect(await counter(principal)).toEqual({ spent: 300, reserved: 0, held: 0 });
  });

  it('gives tokens back once when ioredis resends a release', async () => {
    // The gateway's clock fixed 10 s into a minute window, so both admissions count in one window.
    const now = Date.UTC(2026, 10, 25, 10, 0, 10);
    const limits = limitsThroughProxy(limitsConfig('limits:\n  rate:\n    - { scope: user, tokens_per_minute: 100000 }\n'), { clock: () => now });
    const principal = testPrincipal();
    const first = admitted(await admit(limits, principal));
    admitted(await admit(limits, principal));
    const tokens = rateCounterKey(PREFIX, 'user', 'tokens', principal, windowStart(now));
    expect(Number(await redis.get(tokens))).toBe(2000);
    await lostReplyResent(() => first.reservation.release(), async () => Number(await redis.get(tokens)) === 1000);
    // The other request's 1000 tokens still count: a second release would have erased them.
    expect(Number(await redis.get(tokens))).toBe(1000);
  });

  it('refuses an admission whose reply came too late and gives its reservation back', async () => {
    const limits = limitsThroughProxy(BUDGET);
    const principal = testPrincipal();
    await limits.standing(principal);
    proxy.replies({ kind: 'delay', ms: 1_500 });
    const refusal = await admit(limits, principal);
    expect(refusal).toMatchObject({ ok: false, rule: 'limits.store_unavailable' });
    // Redis ran it all the same (it reserved); the refusal must not hold the budget for an hour.
    proxy.replies({ kind: 'pass' });
    await drainBackgroundTasks(10_000);
    await until('the reservation was given back', async () => (await counter(principal)).reserved === 0);
    expect(await counter(principal)).toEqual({ spent: 0, reserved: 0, held: 0 });
    // Five worst cases fit again.
    const results = await Promise.all(Array.from({ length: 6 }, () => admit(limits, principal)));
    expect(results.filter((result) => result.ok)).toHaveLength(5);
  });

  it('refuses when the store or the ledger fails at any step of an admission, never admitting without a check', async () => {
    const silent = limitsThroughProxy(BUDGET);
    const principal = testPrincipal();
    proxy.replies({ kind: 'swallow' });
    // The first admission finds no counter: seeding it (and asking again) goes unanswered.
    expect(await admit(silent, principal)).toMatchObject({ ok: false, rule: 'limits.store_unavailable' });
    proxy.replies({ kind: 'pass' });
    const failingLedger: SpendLedger = {
      record: postgresSpendLedger.record,
      spent: async () => {
        throw new Error('the ledger is unreachable');
      },
    };
    const unseedable = limitsThroughProxy(BUDGET, { ledger: failingLedger });
    expect(await admit(unseedable, testPrincipal())).toMatchObject({ ok: false, rule: 'limits.store_unavailable' });
    // Seeded, then Redis stops answering mid-way: still refused.
    const seeded = limitsThroughProxy(BUDGET);
    admitted(await admit(seeded, principal));
    proxy.replies({ kind: 'swallow' });
    expect(await admit(seeded, principal)).toMatchObject({ ok: false, rule: 'limits.store_unavailable' });
    proxy.replies({ kind: 'pass' });
  });

  it('restarts a counter Redis lost (restart without persistence, flush, eviction) with the reservations of requests still in flight', async () => {
    const limits = limitsThroughProxy(BUDGET);
    const principal = testPrincipal();
    const inFlight = await Promise.all(Array.from({ length: 3 }, () => admit(limits, principal)));
    expect(inFlight.every((result) => result.ok)).toBe(true);
    const settled = admitted(await admit(limits, principal));
    await settled.reservation.settle({ costMicrodollars: 300, usage: usage(100, 200) });
    await redis.del(counterOf(principal), heldKey(counterOf(principal)));
    // Started again from the ledger (300 spent) and the three reservations still held: 1000 µ$ fits once.
    const results = await Promise.all(Array.from({ length: 5 }, () => admit(limits, principal)));
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(await counter(principal)).toEqual({ spent: 300, reserved: 4000, held: 4 });
    // They settle against the restarted counter as before it was lost.
    for (const result of [...inFlight, ...results]) if (result.ok) await result.reservation.settle({ costMicrodollars: 300, usage: usage(100, 200) });
    expect(await counter(principal)).toEqual({ spent: 1500, reserved: 0, held: 0 });
  });

  it('reserves nothing for an admission that reaches Redis after its call was released', async () => {
    const store = RedisLimitStore.connect(REDIS_URL);
    const principal = testPrincipal();
    const key = counterOf(principal);
    await store.seed([{ key, spent: 0, ttlMs: 60_000, reservations: [] }]);
    const callId = randomBytes(8).toString('hex');
    const closing = callKey(PREFIX, principal, callId);
    // The gateway gave up on the admission and released the call before the admission ran.
    await store.settle({ callId, callKey: closing, operationId: 'release', budgets: [{ key, actual: 0 }], tokens: [] });
    const now = Date.now();
    const late = store.admit({
      nowMs: now,
      windowStartMs: windowStart(now),
      windowMs: 60_000,
      rates: [],
      budgets: [{ key, limit: 5000, amount: 1000, enforcement: 'strict' }],
      callId,
      callKey: closing,
      reservationTtlMs: 3_600_000,
    });
    await expect(late).rejects.toThrow(/settled or released already/);
    expect(await counter(principal)).toEqual({ spent: 0, reserved: 0, held: 0 });
    await store.close();
  });

  it('counts a call that settles while its lost counter is being seeded from a ledger read that missed it', async () => {
    // The seed's ledger read is held until the call has settled against the absent counter.
    let readDone!: () => void;
    const readHeld = new Promise<void>((resolve) => (readDone = resolve));
    let reading!: () => void;
    const readStarted = new Promise<void>((resolve) => (reading = resolve));
    const ledger: SpendLedger = {
      record: postgresSpendLedger.record,
      spent: async (...args) => {
        const spent = await postgresSpendLedger.spent(...args);
        reading();
        await readHeld;
        return spent;
      },
    };
    const limits = limitsThroughProxy(BUDGET, { ledger });
    const principal = testPrincipal();
    // Made by hand, so the call's own admission has nothing to seed.
    await redis.hset(counterOf(principal), 'spent', 0, 'reserved', 0);
    await redis.pexpire(counterOf(principal), 60_000);
    const call = admitted(await admit(limits, principal));
    await redis.del(counterOf(principal), heldKey(counterOf(principal)));
    // Another request finds the counter gone and seeds it: the call is in flight, its cost not yet in the ledger.
    const next = admit(limits, principal);
    await readStarted;
    const settled = call.reservation.settle({ costMicrodollars: 300, usage: usage(100, 200) });
    await until('the settle ran against the absent counter', async () => (await redis.exists(callKey(PREFIX, principal, call.reservation.callId))) === 1);
    readDone();
    const [{ recorded }] = await Promise.all([settled, next]);
    expect(recorded).toMatchObject({ addedMicrodollars: 300 });
    // The cost counts and the call's reservation, held again by the seed, is gone.
    expect(await counter(principal)).toEqual({ spent: 300, reserved: 1000, held: 1 });
  });

  it('forgets the oldest in-flight reservations past its limit while the ledger cannot be written', async () => {
    const broken: SpendLedger = {
      record: async () => {
        throw new Error('the ledger is unreachable');
      },
      spent: postgresSpendLedger.spent,
    };
    const wide = limitsConfig('limits:\n  budgets:\n    - { scope: user, period: monthly, limit_microdollars: 100000 }\n');
    let now = Date.now();
    const limits = new GatewayLimits({ store: RedisLimitStore.connect(REDIS_URL), ledger: broken, config: () => ({ config: wide }), prefix: PREFIX, clock: () => now, inFlightLimit: 5, logger: { error: () => undefined } });
    opened.push(limits);
    const principal = testPrincipal();
    for (let call = 0; call < 8; call += 1) {
      const { reservation } = admitted(await admit(limits, principal));
      expect(await reservation.settle({ costMicrodollars: 300, usage: usage(100, 200) })).toEqual({ recorded: null, overCap: [] });
    }
    expect(await counter(principal)).toMatchObject({ reserved: 8000, held: 8 });
    await redis.del(counterOf(principal), heldKey(counterOf(principal)));
    admitted(await admit(limits, principal));
    // Seeded with the five newest in flight, plus the new one.
    expect(await counter(principal)).toEqual({ spent: 0, reserved: 6000, held: 6 });
    // Past their lifetime on the gateway's clock, none is held again.
    now += 3_601_000;
    await redis.del(counterOf(principal), heldKey(counterOf(principal)));
    admitted(await admit(limits, principal));
    expect(await counter(principal)).toEqual({ spent: 0, reserved: 1000, held: 1 });
  });

  it('holds a reservation for gateway.reconcile_after_seconds of Redis time from when it ran, however slow the replies', async () => {
    const limits = limitsThroughProxy(BUDGET);
    const principal = testPrincipal();
    await limits.standing(principal);
    proxy.replies({ kind: 'delay', ms: 300 });
    const { reservation } = admitted(await admit(limits, principal));
    proxy.replies({ kind: 'pass' });
    const [seconds] = await redis.time();
    const lapsesAt = Number(await redis.zscore(heldKey(counterOf(principal)), reservation.callId));
    // The default is an hour: a request in flight for less cannot lose its reservation.
    expect(BUDGET.gateway.reconcile_after_seconds).toBe(3_600);
    expect(lapsesAt - Number(seconds) * 1000).toBeGreaterThan(3_600_000 - 5_000);
    await reservation.release();
  });
});
