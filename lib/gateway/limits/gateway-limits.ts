import { randomUUID } from 'node:crypto';
import type { GatehouseConfig } from '@/lib/config';
import type { GatewayCaller, RouteDecision, Usage } from '@/lib/gateway/contracts';
import { anthropicError } from '@/lib/gateway/errors';
import { priceBookFor, worstCaseCostMicrodollars, type Price, type ServerToolAllowance } from '@/lib/gateway/pricing';
import { runInBackground } from '@/lib/platform/background';
import type { Principal } from '@/lib/tokens';
import { allowedHeaders, capDoesNotFitResponse, capReachedResponse, formatUsd, limitsUnavailableResponse, rateLimitedResponse, type CapStanding } from './headers';
import { budgetCounterKey, callKey, rateCounterKey, type CounterSubject } from './keys';
import type { RecordedSpend, SpendEntry, SpendLedger } from './ledger';
import { dayString, periodBounds, type PeriodBounds } from './periods';
import { planFor, type BudgetCounterPlan, type CallerPlan, type PlanSubject } from './plan';
import type { AdmitResult, BudgetCounterInput, BudgetStanding, LimitStore, RateCounterInput } from './store';
import { retryAfterMs, WINDOW_MS, windowStart } from './window';

export interface LimitsAdmitInput {
  caller: GatewayCaller;
  /** The call id (the inference.request event's event_id); a fresh one when not given. */
  callId?: string;
  /** The Anthropic-style model id the client asked for. */
  model: string;
  /** An upper estimate of the prompt's tokens (the pipeline's count). */
  estimatedInputTokens: number;
  /** The request's max_tokens. */
  maxOutputTokens: number;
  /** Paid server tools the request allows (web searches), reserved at their per-use price. */
  serverTools?: ServerToolAllowance;
  decision: RouteDecision;
}

export interface SettleInput {
  /** The cost of `usage`, integer microdollars (0 when nothing prices the model). */
  costMicrodollars: number;
  /** What is billed: the upstream's report, or Gatehouse's estimate when it never said. */
  usage: Usage | null;
  /** True when `usage` is an estimate. */
  usageEstimated?: boolean;
  outcome?: SpendEntry['outcome'];
  /** `provider/model` that answered. */
  upstream?: string | null;
}

export interface SettleResult {
  /** The ledger's answer; null when the ledger could not be written (the reservation is then kept for the reconciler). */
  recorded: RecordedSpend | null;
  /** Caps this call's actual cost took past their limit: the next admission is refused. */
  overCap: CapStanding[];
}

/** What admission reserved; settle or release it exactly once (later calls do nothing). */
export interface Reservation {
  readonly callId: string;
  /** Reserved against every applicable budget, integer microdollars. */
  readonly worstCaseMicrodollars: number;
  /** The price the reservation was computed with (null when nothing prices the model). */
  readonly price: Price | null;
  /**
   * Records the call in the ledger and replaces the reservation by what the ledger added (the
   * actual cost, once), correcting the token estimate. Never rejects.
   */
  settle(input: SettleInput): Promise<SettleResult>;
  /** Gives the reservation back: the request failed before anything was spent. Never rejects. */
  release(): Promise<void>;
}

/** A call the reconciler closes: its request event said who, when and what it was estimated at. */
export interface ReconciledCall extends Omit<SpendEntry, 'recordedBy'> {
  roles: readonly string[];
}

export type LimitsAdmission = { ok: true; reservation: Reservation; headers: Headers } | { ok: false; response: Response; rule: string };

export interface GatewayLimitsOptions {
  store: LimitStore;
  ledger: SpendLedger;
  /** The configuration in force (configStore().current() in production). */
  config: () => { config: GatehouseConfig };
  /** Prefix of every counter key (GATEHOUSE_REDIS_PREFIX or `gatehouse`). */
  prefix: string;
  clock?: () => number;
  logger?: { error(message: string): void };
  /** At most this many reservations in flight are remembered for seeding (IN_FLIGHT_LIMIT by default). */
  inFlightLimit?: number;
}

interface InFlight {
  keys: readonly string[];
  amount: number;
  /** When the store lets the reservation lapse (gateway clock). */
  expiresAtMs: number;
}

// Each in-flight entry leaves at its settle or release; one whose ledger write failed stays until
// it lapses, so a ledger outage at a few hundred requests a second would hold an hour's calls.
// Past this many the oldest are forgotten (a counter lost meanwhile is seeded without them: the
// ledger and the reconciler still count their spend once it is written); ~200 bytes each.
const IN_FLIGHT_LIMIT = 100_000;

interface BudgetCounter {
  plan: BudgetCounterPlan;
  bounds: PeriodBounds;
  key: string;
}

// How often admission seeds empty counters from the ledger and asks again before giving up.
const SEED_ATTEMPTS = 3;
// Budget counters outlive their period by a day, so late settles still land and are visible.
const BUDGET_COUNTER_GRACE_MS = 86_400_000;

/** Whose counters a call adds to, and which rules hold them (a token's principal, or a request event's actor). */
/** Whose limits: a token's principal, or a dashboard user (tenant, user, department, roles). */
export type LimitSubject = CounterSubject & PlanSubject;

function counterSubject(subject: LimitSubject): CounterSubject {
  return { tenantId: subject.tenantId, userId: subject.userId, department: subject.department };
}

function capOf(counter: BudgetCounter, spent: number): CapStanding | null {
  const { plan } = counter;
  if (plan.limit === null || plan.rule === null) return null;
  return { scope: plan.scope, period: plan.period, limit: plan.limit, spent, resetsAt: counter.bounds.end, rule: plan.rule, message: plan.message };
}

function billedTokens(usage: Usage): number {
  // Cache reads are not counted against tokens per minute (see the limits schema).
  return usage.input_tokens + usage.cache_creation_input_tokens + usage.output_tokens;
}

/**
 * Rate limits, budgets and the spend ledger for the gateway. One instance per process; the
 * store decides whether counts are shared (Redis) or local (memory), with the same semantics.
 */
export class GatewayLimits {
  private readonly clock: () => number;
  private readonly logger: { error(message: string): void };
  private readonly seeding = new Map<string, Promise<void>>();
  /**
   * This process's reservations not yet settled or released, by call id: a budget counter the
   * store lost is started again with them held (seed), not from the ledger alone.
   */
  private readonly inFlight = new Map<string, InFlight>();
  private readonly inFlightLimit: number;

  constructor(private readonly options: GatewayLimitsOptions) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? console;
    this.inFlightLimit = options.inFlightLimit ?? IN_FLIGHT_LIMIT;
  }

  get storeKind(): LimitStore['kind'] {
    return this.options.store.kind;
  }

  /**
   * Decides whether a request may go upstream. Checks the route's cost ceiling, then atomically
   * checks every applicable rate limit and budget and, when all pass, counts the request and
   * reserves its worst-case cost against every budget (all or nothing).
   */
  async admit(input: LimitsAdmitInput): Promise<LimitsAdmission> {
    const { config } = this.options.config();
    const principal = input.caller.principal;
    const callId = input.callId ?? randomUUID();
    const plan = planFor(config, principal);
    const priced = this.priceOf(config, input);
    const price = priced?.price ?? null;
    const worstCase = priced?.worstCase ?? null;

    const ceiling = input.decision.maxCostMicrodollars;
    if (ceiling !== undefined) {
      if (worstCase === null) return this.unpriced(input.model, `route.${input.decision.routeName}.max_cost`);
      if (worstCase > ceiling) {
        return {
          ok: false,
          rule: `route.${input.decision.routeName}.max_cost`,
          response: anthropicError(
            'invalid_request_error',
            `this request could cost up to ${formatUsd(worstCase)}, over the ${formatUsd(ceiling)} allowed per request for ${input.model}; lower max_tokens or shorten the prompt`,
          ),
        };
      }
    }

    const capped = plan.budgets.some((budget) => budget.limit !== null);
    if (capped && worstCase === null) return this.unpriced(input.model, 'limits.unpriced_model');
    // A request that could cost more than a whole cap would be refused however little was spent;
    // saying "limit reached" would be wrong, so it is told what to change instead.
    const tooBig = plan.budgets.find((budget) => budget.enforcement === 'strict' && budget.limit !== null && worstCase !== null && worstCase > budget.limit);
    if (tooBig) {
      return {
        ok: false,
        rule: tooBig.rule!,
        response: anthropicError(
          'invalid_request_error',
          `this request could cost up to ${formatUsd(worstCase!)}, more than the whole ${tooBig.period} spend limit of ${formatUsd(tooBig.limit!)}; lower max_tokens or shorten the prompt`,
        ),
      };
    }

    const now = this.clock();
    const subject = counterSubject(principal);
    const start = windowStart(now);
    // Tokens per minute count what the request may use: its prompt and all of max_tokens, as the
    // upstream's own limits do; settle corrects the count to the usage billed.
    const expectedTokens = Math.max(0, Math.ceil(input.estimatedInputTokens)) + Math.max(0, Math.ceil(input.maxOutputTokens));
    const rates: RateCounterInput[] = plan.rate.map((rate) => ({
      currentKey: rateCounterKey(this.options.prefix, rate.scope, rate.metric, subject, start),
      previousKey: rateCounterKey(this.options.prefix, rate.scope, rate.metric, subject, start - WINDOW_MS),
      limit: rate.limit,
      cost: rate.metric === 'requests' ? 1 : expectedTokens,
    }));
    const counters = this.budgetCounters(plan, subject, now);
    const amount = worstCase ?? 0;
    const budgets: BudgetCounterInput[] = counters.map((counter) => ({ key: counter.key, limit: counter.plan.limit, amount, enforcement: counter.plan.enforcement }));
    const tokenKeys = rates.flatMap((rate, index) => (plan.rate[index]!.metric === 'tokens' ? [rate.currentKey] : []));
    const closing = callKey(this.options.prefix, subject, callId);
    const reservation = this.reservation({ input, callId, closing, at: new Date(now), price, amount, counters, tokenKeys, expectedTokens });

    if (!rates.length && !budgets.length) return { ok: true, reservation, headers: new Headers() };

    let result: AdmitResult;
    try {
      result = await this.admitSeeded(counters, subject, {
        nowMs: now,
        windowStartMs: start,
        windowMs: WINDOW_MS,
        rates,
        budgets,
        callId,
        callKey: closing,
        reservationTtlMs: config.gateway.reconcile_after_seconds * 1000,
      });
    } catch (error) {
      this.logger.error(`limits: the counter store failed, refusing the request: ${(error as Error).message}`);
      // The admission may have run in Redis all the same (its reply came after the client gave
      // up): its reservation is released, so a refused request holds no budget until it lapses,
      // and the call's closing record stops an admission that runs later still from reserving.
      // Its rate counts stay: whether they were made is unknown, and giving back counts that
      // were never made would let requests past a rate limit.
      if (amount > 0 && budgets.length) {
        const release = { callId, callKey: closing, operationId: randomUUID(), budgets: budgets.map((budget) => ({ key: budget.key, actual: 0 })), tokens: [] };
        runInBackground(`limits: releasing the refused call ${callId}`, () => this.options.store.settle(release));
      }
      return { ok: false, rule: 'limits.store_unavailable', response: limitsUnavailableResponse() };
    }

    switch (result.kind) {
      case 'admitted': {
        if (amount > 0 && counters.length) {
          this.inFlight.set(callId, { keys: counters.map((counter) => counter.key), amount, expiresAtMs: now + config.gateway.reconcile_after_seconds * 1000 });
          this.pruneInFlight(now);
        }
        const caps = counters.flatMap((counter, index) => capOf(counter, result.budgets[index]!.spent) ?? []);
        return { ok: true, reservation, headers: allowedHeaders(caps) };
      }
      case 'over_budget':
        return this.overBudget(counters, result, amount, new Date(now));
      case 'rate_limited': {
        const rate = plan.rate[result.index]!;
        const counter = rates[result.index]!;
        const waitMs = retryAfterMs({ current: result.current, previous: result.previous, cost: counter.cost, limit: rate.limit!, elapsedMs: now - start });
        return { ok: false, rule: rate.rule!, response: rateLimitedResponse(rate.scope, rate.metric, rate.limit!, Math.max(1, Math.ceil(waitMs / 1000))) };
      }
      case 'unseeded':
        this.logger.error('limits: budget counters stayed empty after seeding, refusing the request');
        return { ok: false, rule: 'limits.store_unavailable', response: limitsUnavailableResponse() };
    }
  }

  /**
   * Where the principal stands against every cap that applies to them (for GET /api/oauth/usage).
   * Empty for a user with no cap. Throws when the counter store cannot be read.
   */
  async standing(principal: LimitSubject): Promise<CapStanding[]> {
    const { config } = this.options.config();
    const plan = planFor(config, principal);
    const subject = counterSubject(principal);
    const counters = this.budgetCounters(plan, subject, this.clock()).filter((counter) => counter.plan.limit !== null);
    if (!counters.length) return [];
    const keys = counters.map((counter) => counter.key);
    let standings = await this.options.store.read(keys);
    const missing = counters.filter((_, index) => standings[index] === null);
    if (missing.length) {
      await this.seed(missing, subject);
      standings = await this.options.store.read(keys);
    }
    return counters.flatMap((counter, index) => capOf(counter, standings[index]?.spent ?? 0) ?? []);
  }

  /**
   * Counts one request against a per-user, per-minute limit of its own (`counter`, e.g.
   * count_tokens), with the same sliding window and store as the configured rate limits. Fails
   * closed: when the store cannot be read, the request is refused (503).
   */
  async admitRequestRate(principal: Principal, counter: string, limitPerMinute: number): Promise<{ ok: true } | { ok: false; response: Response; rule: string }> {
    const now = this.clock();
    const start = windowStart(now);
    const subject = counterSubject(principal);
    const rule = `limits.${counter}_per_minute`;
    const rate: RateCounterInput = {
      currentKey: rateCounterKey(this.options.prefix, 'user', counter, subject, start),
      previousKey: rateCounterKey(this.options.prefix, 'user', counter, subject, start - WINDOW_MS),
      limit: limitPerMinute,
      cost: 1,
    };
    let result: AdmitResult;
    try {
      const callId = randomUUID();
      result = await this.options.store.admit({
        nowMs: now,
        windowStartMs: start,
        windowMs: WINDOW_MS,
        rates: [rate],
        budgets: [],
        callId,
        callKey: callKey(this.options.prefix, subject, callId),
        reservationTtlMs: 0,
      });
    } catch (error) {
      this.logger.error(`limits: the counter store failed, refusing the request: ${(error as Error).message}`);
      return { ok: false, rule: 'limits.store_unavailable', response: anthropicError('api_error', 'rate limits cannot be checked right now; try again shortly', { status: 503 }) };
    }
    if (result.kind !== 'rate_limited') return { ok: true };
    const waitSeconds = Math.max(1, Math.ceil(retryAfterMs({ current: result.current, previous: result.previous, cost: 1, limit: limitPerMinute, elapsedMs: now - start }) / 1000));
    return {
      ok: false,
      rule,
      response: anthropicError('rate_limit_error', `rate limit reached: you have used the ${limitPerMinute} ${counter} requests allowed per minute; retry in ${waitSeconds} s`, {
        headers: { 'retry-after': String(waitSeconds) },
      }),
    };
  }

  /**
   * Records a call the reconciler closed (its gateway never settled it) in the ledger and, when
   * the ledger took it as new, releases its reservation if still held and adds the cost to the
   * budget counters of the period it was admitted in. Throws when the ledger cannot be written.
   */
  async reconcile(call: ReconciledCall): Promise<RecordedSpend> {
    const { roles, ...entry } = call;
    const recorded = await this.options.ledger.record({ ...entry, recordedBy: 'reconciler' });
    if (recorded.result === 'duplicate') return recorded;
    const { config } = this.options.config();
    const subject: LimitSubject = { tenantId: call.tenantId, userId: call.userId, department: call.department, roles };
    const counters = this.budgetCounters(planFor(config, subject), counterSubject(subject), call.at.getTime());
    if (counters.length) {
      await this.options.store.settle({
        callId: call.callId,
        callKey: callKey(this.options.prefix, subject, call.callId),
        operationId: randomUUID(),
        budgets: counters.map((counter) => ({ key: counter.key, actual: recorded.addedMicrodollars })),
        tokens: [],
      });
    }
    return recorded;
  }

  async close(): Promise<void> {
    await this.options.store.close();
  }

  /**
   * A refusal that tells the truth: "limit reached" only for a cap whose settled spend has reached
   * it (of those, the one that resets last: the client must wait for it); otherwise what this
   * request could cost and what remains of the tightest cap in the way.
   */
  private overBudget(counters: BudgetCounter[], result: Extract<AdmitResult, { kind: 'over_budget' }>, worstCase: number, now: Date): LimitsAdmission {
    const standing = (index: number): BudgetStanding => result.budgets[index]!;
    const reached = result.indexes.flatMap((index) => {
      const cap = capOf(counters[index]!, standing(index).spent);
      return cap && cap.spent >= cap.limit ? [cap] : [];
    });
    if (reached.length) {
      const blocking = reached.reduce((latest, cap) => (cap.resetsAt > latest.resetsAt ? cap : latest));
      return { ok: false, rule: blocking.rule, response: capReachedResponse(blocking, now) };
    }
    const inTheWay = result.indexes.flatMap((index) => {
      const cap = capOf(counters[index]!, standing(index).spent);
      return cap ? [{ cap, enforcement: counters[index]!.plan.enforcement, reserved: standing(index).reserved, remaining: cap.limit - cap.spent - standing(index).reserved }] : [];
    });
    const tightest = inTheWay.reduce((least, entry) => (entry.remaining < least.remaining ? entry : least));
    return { ok: false, rule: tightest.cap.rule, response: capDoesNotFitResponse(tightest.cap, { reserved: tightest.reserved, worstCase, enforcement: tightest.enforcement }) };
  }

  /**
   * The price to reserve with: the one giving the dearest worst case among the route's targets,
   * since failover may land on any of them. Null when nothing prices the model on any target.
   */
  private priceOf(config: GatehouseConfig, input: LimitsAdmitInput): { price: Price; worstCase: number } | null {
    const book = priceBookFor(config);
    const prices = input.decision.targets.length ? input.decision.targets.map((target) => book.priceFor(input.model, target)) : [book.priceFor(input.model)];
    let dearest: { price: Price; worstCase: number } | null = null;
    for (const price of prices) {
      if (!price) continue;
      const worstCase = worstCaseCostMicrodollars(input.estimatedInputTokens, input.maxOutputTokens, price, input.serverTools);
      if (!dearest || worstCase > dearest.worstCase) dearest = { price, worstCase };
    }
    return dearest;
  }

  /**
   * A model nothing prices cannot be held to a budget or a cost ceiling. Refusing is the safe
   * choice (guessing a price could let a budget be overspent); the message says how to fix it.
   */
  private unpriced(model: string, rule: string): LimitsAdmission {
    return {
      ok: false,
      rule,
      response: anthropicError(
        'invalid_request_error',
        `no price is known for model ${model}, so its cost cannot be checked against your spend limit; an administrator can set models.${model}.price in gatehouse.yaml`,
      ),
    };
  }

  private budgetCounters(plan: CallerPlan, subject: CounterSubject, now: number): BudgetCounter[] {
    const at = new Date(now);
    return plan.budgets.map((budget) => {
      const bounds = periodBounds(budget.period, at);
      return { plan: budget, bounds, key: budgetCounterKey(this.options.prefix, budget.scope, budget.period, subject, dayString(bounds.start)) };
    });
  }

  private async admitSeeded(counters: BudgetCounter[], subject: CounterSubject, input: Parameters<LimitStore['admit']>[0]): Promise<AdmitResult> {
    let result = await this.options.store.admit(input);
    for (let attempt = 1; attempt < SEED_ATTEMPTS && result.kind === 'unseeded'; attempt += 1) {
      await this.seed(
        result.indexes.map((index) => counters[index]!),
        subject,
      );
      result = await this.options.store.admit(input);
    }
    return result;
  }

  /**
   * Drops lapsed entries from the front, stopping at the first that still holds: entries are in
   * admission order, which is their expiry order while reconcile_after_seconds stays the same (one
   * it shortened lingers until those before it lapse). Each admission then costs O(1) amortised
   * however many a ledger outage left behind; past the limit the oldest go too.
   */
  private pruneInFlight(now: number): void {
    for (const [callId, held] of this.inFlight) {
      if (held.expiresAtMs > now && this.inFlight.size <= this.inFlightLimit) break;
      this.inFlight.delete(callId);
    }
  }

  /**
   * Starts empty budget counters (a new period, a restarted process, a flushed Redis) from the
   * ledger, so a restart never hands out a fresh budget, with this process's reservations still
   * in flight held again. Concurrent requests share one query. The reservations are taken before
   * the ledger is read: a call settling in between is then counted twice for a while (its seeded
   * reservation lapses), never not at all.
   */
  private async seed(counters: BudgetCounter[], subject: CounterSubject): Promise<void> {
    await Promise.all(
      counters.map((counter) => {
        let pending = this.seeding.get(counter.key);
        if (!pending) {
          pending = (async () => {
            const now = this.clock();
            this.pruneInFlight(now);
            const reservations = [...this.inFlight].flatMap(([callId, held]) =>
              held.keys.includes(counter.key) ? [{ callId, amount: held.amount, ttlMs: held.expiresAtMs - now }] : [],
            );
            const spent = await this.options.ledger.spent({ scope: counter.plan.scope, ...subject }, counter.bounds.start, counter.bounds.end);
            const ttlMs = counter.bounds.end.getTime() + BUDGET_COUNTER_GRACE_MS - this.clock();
            await this.options.store.seed([{ key: counter.key, spent, ttlMs, reservations }]);
          })().finally(() => this.seeding.delete(counter.key));
          this.seeding.set(counter.key, pending);
        }
        return pending;
      }),
    );
  }

  private reservation(context: {
    input: LimitsAdmitInput;
    callId: string;
    /** The call's closing record in the store (keys.ts callKey). */
    closing: string;
    /** When the call was admitted: the ledger counts it in this day, as the counters do in this period. */
    at: Date;
    price: Price | null;
    amount: number;
    counters: BudgetCounter[];
    tokenKeys: string[];
    expectedTokens: number;
  }): Reservation {
    const { store, ledger } = this.options;
    const { input, callId, closing, at, amount, counters, tokenKeys, expectedTokens } = context;
    // Left once the store has the settle or release (a counter lost before then is seeded with it).
    const closed = () => this.inFlight.delete(callId);
    // Each settle or release is one operation, however often the connection makes it be sent.
    const operation = () => ({ callId, callKey: closing, operationId: randomUUID() });
    const principal = input.caller.principal;
    const logger = this.logger;
    let done = false;
    const report = (what: string) => (error: unknown) => logger.error(`limits: ${what} failed for trace ${input.caller.traceId}: ${(error as Error).message}`);
    const budgetKeys = counters.map((counter) => counter.key);
    const seeding = this.seeding;
    /**
     * Sends a settle or release. A counter found gone while a seed of it was under way is seeded
     * after this operation ran: the seed read the ledger before this call was recorded in it and
     * holds the call's reservation again, so the call's cost would be lost and its reservation
     * held until it lapses. Once the seed is done its part is sent again as a new operation (at
     * worst the cost counts twice, when the ledger read saw it after all: that refuses sooner,
     * never admits past a cap).
     */
    const send = async (budgets: { key: string; actual: number }[], tokens: { key: string; delta: number }[]): Promise<(BudgetStanding | null)[]> => {
      const seedsBefore = budgets.map((budget) => seeding.get(budget.key));
      const after = await store.settle({ ...operation(), budgets, tokens });
      const again = budgets.flatMap((budget, index) => {
        const seed = seedsBefore[index] ?? seeding.get(budget.key);
        return after[index] === null && seed ? [{ index, budget, seed }] : [];
      });
      if (!again.length) return after;
      await Promise.all(again.map((entry) => entry.seed.catch(() => undefined)));
      const resent = await store.settle({ ...operation(), budgets: again.map((entry) => entry.budget), tokens: [] });
      again.forEach((entry, position) => (after[entry.index] = resent[position] ?? null));
      return after;
    };

    return {
      callId,
      worstCaseMicrodollars: amount,
      price: context.price,
      async settle(settled) {
        if (done) return { recorded: null, overCap: [] };
        done = true;
        const cost = Number.isFinite(settled.costMicrodollars) && settled.costMicrodollars > 0 ? Math.round(settled.costMicrodollars) : 0;
        const tokens = settled.usage ? billedTokens(settled.usage) : null;
        const tokenCorrections = tokens === null ? [] : tokenKeys.map((key) => ({ key, delta: tokens - expectedTokens }));
        let recorded: RecordedSpend | null = null;
        try {
          recorded = await ledger.record({
            callId,
            traceId: input.caller.traceId,
            tenantId: principal.tenantId,
            userId: principal.userId,
            department: principal.department,
            model: input.model,
            upstream: settled.upstream ?? null,
            route: input.decision.routeName,
            at,
            usage: settled.usage,
            costMicrodollars: cost,
            usageEstimated: settled.usageEstimated ?? false,
            outcome: settled.outcome ?? 'success',
            recordedBy: 'gateway',
          });
        } catch (error) {
          // Without a ledger entry the reservation (the worst case, never less than the cost) stays
          // held until it lapses; the reconciler then writes the entry and adds the cost.
          report('recording spend in the ledger')(error);
          await store.settle({ ...operation(), budgets: [], tokens: tokenCorrections }).catch(report('correcting the token count'));
          return { recorded: null, overCap: [] };
        }
        const after = await send(
          budgetKeys.map((key) => ({ key, actual: recorded.addedMicrodollars })),
          tokenCorrections,
        )
          .catch((error: unknown) => {
            report('settling the counters')(error);
            return [] as (BudgetStanding | null)[];
          })
          .finally(closed);
        const overCap = counters.flatMap((counter, index) => {
          const standing = after[index];
          const cap = standing ? capOf(counter, standing.spent) : null;
          return cap && cap.spent > cap.limit ? [cap] : [];
        });
        return { recorded, overCap };
      },
      async release() {
        if (done) return;
        done = true;
        await send(
          budgetKeys.map((key) => ({ key, actual: 0 })),
          tokenKeys.map((key) => ({ key, delta: -expectedTokens })),
        )
          .catch(report('releasing the reservation'))
          .finally(closed);
      },
    };
  }
}
