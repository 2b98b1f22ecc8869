import { rateCounterExpiry, type AdmitInput, type AdmitResult, type BudgetStanding, type LimitStore, type SeedInput, type SettleInput } from './store';

interface Expiring<T> {
  value: T;
  expiresAtMs: number;
}

interface BudgetCounter extends BudgetStanding {
  /** Reservations in flight by call id; `reserved` is their sum. */
  held: Map<string, { amount: number; expiresAtMs: number }>;
}

// Sweeping every entry on every call would cost O(n) per request; every few hundred calls is enough.
const SWEEP_EVERY = 500;

/**
 * The store for a single process (no REDIS_URL). Every operation runs to completion without
 * yielding, which in JavaScript makes it atomic exactly as the Redis scripts are.
 */
export class MemoryLimitStore implements LimitStore {
  readonly kind = 'memory';
  private readonly counters = new Map<string, Expiring<number>>();
  private readonly budgets = new Map<string, Expiring<BudgetCounter>>();
  private operations = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  private live<T>(map: Map<string, Expiring<T>>, key: string): Expiring<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAtMs <= this.clock()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    this.operations += 1;
    if (this.operations % SWEEP_EVERY !== 0) return;
    const now = this.clock();
    for (const map of [this.counters, this.budgets] as Map<string, Expiring<unknown>>[]) {
      for (const [key, entry] of map) if (entry.expiresAtMs <= now) map.delete(key);
    }
  }

  /** Drops reservations past their expiry: their gateway never settled them. */
  private lapse(counter: BudgetCounter): void {
    const now = this.clock();
    for (const [callId, reservation] of counter.held) {
      if (reservation.expiresAtMs > now) continue;
      counter.held.delete(callId);
      counter.reserved = Math.max(0, counter.reserved - reservation.amount);
    }
  }

  async admit(input: AdmitInput): Promise<AdmitResult> {
    this.sweep();
    // No admission is ever sent twice in one process, so none finds its own reservation held.
    const budgets = input.budgets.map((budget) => this.live(this.budgets, budget.key));
    const unseeded = budgets.flatMap((entry, index) => (entry ? [] : [index]));
    if (unseeded.length) return { kind: 'unseeded', indexes: unseeded };
    for (const entry of budgets) this.lapse(entry!.value);
    const standings = budgets.map((entry) => ({ spent: entry!.value.spent, reserved: entry!.value.reserved }));

    const over = input.budgets.flatMap((budget, index) => {
      const { spent, reserved } = standings[index]!;
      if (budget.limit === null) return [];
      const refused = budget.enforcement === 'soft' ? spent + reserved >= budget.limit : spent + reserved + budget.amount > budget.limit;
      return refused ? [index] : [];
    });
    if (over.length) return { kind: 'over_budget', indexes: over, budgets: standings };

    const weight = (input.windowMs - (input.nowMs - input.windowStartMs)) / input.windowMs;
    for (const [index, rate] of input.rates.entries()) {
      if (rate.limit === null) continue;
      const current = this.live(this.counters, rate.currentKey)?.value ?? 0;
      const previous = this.live(this.counters, rate.previousKey)?.value ?? 0;
      const used = previous * weight + current;
      if (used > 0 && used + rate.cost > rate.limit) return { kind: 'rate_limited', index, current, previous };
    }

    const expiresAtMs = this.clock() + rateCounterExpiry(input.windowStartMs, input.windowMs) - input.nowMs;
    for (const rate of input.rates) {
      const entry = this.live(this.counters, rate.currentKey);
      this.counters.set(rate.currentKey, { value: (entry?.value ?? 0) + rate.cost, expiresAtMs });
    }
    input.budgets.forEach((budget, index) => {
      if (budget.amount <= 0) return;
      const counter = budgets[index]!.value;
      counter.reserved += budget.amount;
      counter.held.set(input.callId, { amount: budget.amount, expiresAtMs: this.clock() + input.reservationTtlMs });
    });
    return { kind: 'admitted', budgets: standings };
  }

  /**
   * Applied as given: the calls into this store are function calls in one process, never resent
   * nor run late, so it keeps no closing records (Redis must, and they would cost memory here).
   */
  async settle(input: SettleInput): Promise<(BudgetStanding | null)[]> {
    const standings = input.budgets.map((budget) => {
      const entry = this.live(this.budgets, budget.key);
      if (!entry) return null;
      const counter = entry.value;
      const reservation = counter.held.get(input.callId);
      if (reservation) {
        counter.held.delete(input.callId);
        counter.reserved = Math.max(0, counter.reserved - reservation.amount);
      }
      counter.spent += budget.actual;
      return { spent: counter.spent, reserved: counter.reserved };
    });
    for (const correction of input.tokens) {
      const entry = this.live(this.counters, correction.key);
      if (entry) entry.value = Math.max(0, entry.value + correction.delta);
    }
    return standings;
  }

  /**
   * Reservations are not held again: a counter here is only ever absent before its period's first
   * admission (or a day after the period, long after its reservations lapsed), never lost while
   * calls reserved against it are in flight.
   */
  async seed(entries: SeedInput[]): Promise<void> {
    for (const entry of entries) {
      if (this.live(this.budgets, entry.key)) continue;
      this.budgets.set(entry.key, { value: { spent: entry.spent, reserved: 0, held: new Map() }, expiresAtMs: this.clock() + entry.ttlMs });
    }
  }

  async read(keys: string[]): Promise<(BudgetStanding | null)[]> {
    return keys.map((key) => {
      const entry = this.live(this.budgets, key);
      if (!entry) return null;
      this.lapse(entry.value);
      return { spent: entry.value.spent, reserved: entry.value.reserved };
    });
  }

  async close(): Promise<void> {
    this.counters.clear();
    this.budgets.clear();
  }
}
