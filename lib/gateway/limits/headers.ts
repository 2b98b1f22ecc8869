import type { BudgetEnforcement, BudgetPeriod } from '@/lib/config';
import { anthropicError } from '@/lib/gateway/errors';
import type { CounterScope } from './plan';
import { shortDate, unixSeconds } from './periods';

/** A cap that applies to the caller, and where they stand against it. */
export interface CapStanding {
  scope: CounterScope;
  period: BudgetPeriod;
  /** Integer microdollars. */
  limit: number;
  /** Settled spend in the period, integer microdollars (reservations in flight excluded). */
  spent: number;
  /** The instant the period ends and the cap resets. */
  resetsAt: Date;
  rule: string;
  message: string | null;
}

const PREFIX = 'anthropic-ratelimit-unified';

/** Fraction of the cap used, floored to the hundredth the headers carry (so 0.759 never shows as 0.76). */
export function utilization(cap: Pick<CapStanding, 'spent' | 'limit'>): number {
  if (cap.limit <= 0) return cap.spent > 0 ? 1 : 0;
  return Math.floor((cap.spent * 100) / cap.limit) / 100;
}

/** Whole percent for GET /api/oauth/usage: the headers' utilization × 100, so the two always agree. */
export function utilizationPercent(cap: Pick<CapStanding, 'spent' | 'limit'>): number {
  return Math.round(utilization(cap) * 100);
}

/** The cap the client is told about: the fullest one (the first of equals). */
export function fullestCap(caps: readonly CapStanding[]): CapStanding | null {
  let fullest: CapStanding | null = null;
  for (const cap of caps) if (!fullest || utilization(cap) > utilization(fullest)) fullest = cap;
  return fullest;
}

function threshold(fraction: number): string | null {
  if (fraction >= 0.95) return '0.95';
  if (fraction >= 0.75) return '0.75';
  return null;
}

/**
 * The unified usage headers on an admitted request (the contract's "Usage-limit headers"): the
 * client shows its "You've used NN% …" notice from `surpassed-threshold`. None for a user with no cap.
 */
export function allowedHeaders(caps: readonly CapStanding[]): Headers {
  const headers = new Headers();
  const cap = fullestCap(caps);
  if (!cap) return headers;
  // Still below 1 while requests are allowed: 1 means "blocked" to the client.
  const fraction = Math.min(utilization(cap), 0.99);
  const passed = threshold(fraction);
  const status = passed ? 'allowed_warning' : 'allowed';
  const reset = String(unixSeconds(cap.resetsAt));
  headers.set(`${PREFIX}-status`, status);
  headers.set(`${PREFIX}-representative-claim`, 'overage');
  headers.set(`${PREFIX}-overage-status`, status);
  headers.set(`${PREFIX}-overage-utilization`, fraction.toFixed(2));
  if (passed) headers.set(`${PREFIX}-overage-surpassed-threshold`, passed);
  headers.set(`${PREFIX}-reset`, reset);
  headers.set(`${PREFIX}-overage-reset`, reset);
  return headers;
}

const WHOSE: Record<CounterScope, string> = { user: 'spend limit', department: "your department's spend limit", tenant: "your organisation's spend limit" };

/**
 * 429 billing_error for a reached cap, exactly as the contract shows: no representative-claim
 * or overage-status (the client then prints our message as is), so the one sentence says when
 * it resets and what to do next.
 */
export function capReachedResponse(cap: CapStanding, now: Date): Response {
  const reset = String(unixSeconds(cap.resetsAt));
  const retryAfter = Math.max(1, Math.ceil((cap.resetsAt.getTime() - now.getTime()) / 1000));
  const headers = new Headers({
    'retry-after': String(retryAfter),
    'x-should-retry': 'false',
    [`${PREFIX}-status`]: 'rejected',
    [`${PREFIX}-reset`]: reset,
    [`${PREFIX}-overage-reset`]: reset,
    [`${PREFIX}-overage-utilization`]: '1',
    [`${PREFIX}-overage-surpassed-threshold`]: '1',
    [`${PREFIX}-overage-period`]: cap.period,
    [`${PREFIX}-overage-disabled-reason`]: 'org_spend_cap_reached',
  });
  // The user's own cap is not what blocked them: the client words its notice accordingly.
  if (cap.scope !== 'user') headers.set(`${PREFIX}-overage-scope`, 'group_pool');
  const message = [`${WHOSE[cap.scope]} reached`, `resets ${shortDate(cap.resetsAt)}`, ...(cap.message ? [cap.message] : [])].join(' · ');
  return anthropicError('billing_error', message, { headers });
}

const OF_WHOSE: Record<CounterScope, string> = { user: 'your', department: "your department's", tenant: "your organisation's" };

/**
 * 429 billing_error for a budget the request does not fit although the cap is not reached: for a
 * strict budget, what the request could cost, what remains, and what holds the rest; for a soft
 * one (which refuses whatever the request's size once spend and reservations fill the cap), that
 * requests in progress hold the rest. The client prints the message as is (no
 * representative-claim); nothing says "reached" or shows 100 %.
 */
export function capDoesNotFitResponse(cap: CapStanding, request: { reserved: number; worstCase: number; enforcement: BudgetEnforcement }): Response {
  const remaining = Math.max(0, cap.limit - cap.spent - request.reserved);
  const held = request.reserved > 0 ? ` after ${formatUsd(request.reserved)} held for requests in progress` : '';
  const advice = request.reserved > 0 ? 'lower max_tokens, or try again when those requests finish' : 'lower max_tokens or shorten the prompt';
  const limit = `${OF_WHOSE[cap.scope]} ${formatUsd(cap.limit)} ${cap.period} spend limit`;
  const message = [
    request.enforcement === 'soft'
      ? `${formatUsd(cap.spent)} of ${limit} is spent and requests in progress hold the rest; try again when they finish`
      : `this request could cost up to ${formatUsd(request.worstCase)}; ${formatUsd(remaining)} of ${limit} remains${held}; ${advice}`,
    `resets ${shortDate(cap.resetsAt)}`,
    ...(cap.message ? [cap.message] : []),
  ].join(' · ');
  return anthropicError('billing_error', message, { headers: { 'x-should-retry': 'false' } });
}

/** Fail closed when the counters cannot be read: the contract's fetch_error shape, nothing else. */
export function limitsUnavailableResponse(): Response {
  return anthropicError('billing_error', 'usage limits cannot be checked right now, so requests are paused; try again in a few minutes', {
    headers: { 'x-should-retry': 'false', [`${PREFIX}-overage-disabled-reason`]: 'fetch_error' },
  });
}

/** 429 rate_limit_error; the SDK waits `retry-after` seconds and tries again. */
export function rateLimitedResponse(scope: 'user' | 'department', metric: 'requests' | 'tokens', limit: number, retryAfterSeconds: number): Response {
  const who = scope === 'user' ? 'you have' : 'your department has';
  const what = metric === 'requests' ? `${limit} requests` : `${limit} tokens`;
  return anthropicError('rate_limit_error', `rate limit reached: ${who} used the ${what} allowed per minute; retry in ${retryAfterSeconds} s`, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}

/** `$0.52`; amounts under a cent keep the digits that matter (`$0.005`). */
export function formatUsd(microdollars: number): string {
  const dollars = microdollars / 1_000_000;
  if (dollars >= 0.01 || dollars === 0) return `$${dollars.toFixed(2)}`;
  return `$${dollars.toFixed(6).replace(/0+$/, '')}`;
}
