/**
 * Counters for rate limits and budgets, with one meaning whichever store holds them (Redis
 * across replicas, or process memory for a single process). Each operation is atomic: every
 * check of an admission happens together with every increment, so concurrent requests see each
 * other's reservations: they can neither pass a rate limit together nor reserve past a strict
 * budget together.
 *
 * A budget counter holds the settled spend and each admitted call's reservation by call id, with
 * an expiry of its own: a reservation nobody settles (the gateway crashed) lapses after
 * `reservationTtlMs` instead of holding the budget until the period ends.
 *
 * In a store reached over a network, settling and releasing are idempotent per operation, and a
 * call once settled or released is closed: a command the client gave up on may still run, and one
 * whose reply a dropped connection lost is sent again (ioredis resends it after reconnecting). A
 * resent settle must not add its cost or give its tokens back twice, a resent admission must not
 * reserve twice, and an admission that runs after its call was closed must reserve nothing.
 */

/** A sliding one-minute window: the current fixed window plus the previous one, weighted by overlap. */
export interface RateCounterInput {
  currentKey: string;
  previousKey: string;
  /** Null: count only. */
  limit: number | null;
  /** Requests (1) or estimated tokens this request adds. */
  cost: number;
}

export interface BudgetCounterInput {
  key: string;
  /** Null: count only. */
  limit: number | null;
  /** Worst-case microdollars to reserve. */
  amount: number;
  /**
   * strict: refused when spent + reserved + amount would pass the limit (the cap is never passed
   * while actual costs stay within their reservations). soft: refused only once spent + reserved
   * has reached the limit.
   */
  enforcement: 'strict' | 'soft';
}

export interface AdmitInput {
  nowMs: number;
  windowStartMs: number;
  windowMs: number;
  rates: RateCounterInput[];
  budgets: BudgetCounterInput[];
  /** Names this call's reservations, so settle finds them and they can lapse on their own. */
  callId: string;
  /** The call's closing record (keys.ts callKey): an admission of a closed call reserves nothing. */
  callKey: string;
  /** How long a reservation holds when nobody settles it. */
  reservationTtlMs: number;
}

/** Settled spend and reservations still in flight, integer microdollars. */
export interface BudgetStanding {
  spent: number;
  reserved: number;
}

export type AdmitResult =
  /** Counted and reserved; standings are as they were before this request's reservation. */
  | { kind: 'admitted'; budgets: BudgetStanding[] }
  | { kind: 'rate_limited'; index: number; current: number; previous: number }
  | { kind: 'over_budget'; indexes: number[]; budgets: BudgetStanding[] }
  /** These budget counters have no value yet: seed them from the ledger and ask again. */
  | { kind: 'unseeded'; indexes: number[] };

export interface SettleInput {
  callId: string;
  /** The call's closing record (keys.ts callKey). */
  callKey: string;
  /** Unique per settle or release: the same operation sent twice is applied once. */
  operationId: string;
  /** Counters whose reservation for the call (if still held) is released, and `actual` added to the spend (0 to only release). */
  budgets: { key: string; actual: number }[];
  /** Corrections of the admission-time token estimate. */
  tokens: { key: string; delta: number }[];
}

export interface SeedInput {
  key: string;
  spent: number;
  /** How long the counter lives, relative (so the store's clock never matters). */
  ttlMs: number;
  /**
   * Reservations of calls still in flight, held again by call id: a counter the store lost (a
   * Redis restarted without persistence, flushed, or evicting) must not start with them forgotten,
   * or as many requests again could be admitted while they run.
   */
  reservations: { callId: string; amount: number; ttlMs: number }[];
}

export interface LimitStore {
  readonly kind: 'redis' | 'memory';
  /**
   * The same call admitted again while its reservation is held answers as the first time without
   * counting anything twice; over a network, a call already closed is refused with an error.
   */
  admit(input: AdmitInput): Promise<AdmitResult>;
  /**
   * Applies to counters that still exist; a counter gone (period over, store flushed) is left to
   * the ledger. Resolves with each budget counter's standing afterwards (null: gone).
   */
  settle(input: SettleInput): Promise<(BudgetStanding | null)[]>;
  /** Sets counters that have no value yet; one that has is left alone (another request seeded it first). */
  seed(entries: SeedInput[]): Promise<void>;
  /** Null for a counter that has no value yet. */
  read(keys: string[]): Promise<(BudgetStanding | null)[]>;
  close(): Promise<void>;
}

/**
 * How long a call's closing record is kept. No lifetime covers every resend: ioredis keeps a
 * command whose reply was lost (its prevCommandQueue) across reconnections that never become
 * ready (a Redis still LOADING its data set answers the connection but not the command) and
 * sends it whenever one does, however late. A resend after the record has gone can only refuse
 * more, never admit more: a settle applied twice adds its cost twice (its reservation is gone
 * already, so nothing is given back twice beyond a token correction), and an admission run late
 * holds a reservation until it lapses. A minute covers the reconnections of a connection that
 * comes back, and at 300 requests a second keeps ~18,000 records (~2 MB) in Redis.
 */
export const CLOSED_CALL_MEMORY_MS = 60_000;

/** How long a window counter must live: through the next window, where it is the previous one. */
export function rateCounterExpiry(windowStartMs: number, windowMs: number): number {
  return windowStartMs + 2 * windowMs + 1_000;
}
