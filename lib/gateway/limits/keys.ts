import type { BudgetPeriod } from '@/lib/config';
import type { CounterScope, RateMetric } from './plan';

/**
 * Counter names. The `{tenant}` hash tag keeps one tenant's counters in one Redis Cluster slot,
 * which multi-key Lua scripts require; the prefix keeps installations (and test runs) apart.
 */
export interface CounterSubject {
  tenantId: string;
  userId: string;
  department: string | null;
}

function subjectId(scope: CounterScope, subject: CounterSubject): string {
  if (scope === 'user') return subject.userId;
  if (scope === 'department') return subject.department ?? '';
  return 'all';
}

/** `metric` is a configured rate metric, or the name of an endpoint's own counter (`count_tokens`). */
export function rateCounterKey(prefix: string, scope: CounterScope, metric: RateMetric | string, subject: CounterSubject, windowStartMs: number): string {
  return `${prefix}:limits:{${subject.tenantId}}:rate:${scope}:${subjectId(scope, subject)}:${metric}:${windowStartMs}`;
}

export function budgetCounterKey(prefix: string, scope: CounterScope, period: BudgetPeriod, subject: CounterSubject, periodStart: string): string {
  return `${prefix}:limits:{${subject.tenantId}}:spend:${scope}:${subjectId(scope, subject)}:${period}:${periodStart}`;
}

/**
 * A call's closing record: the settle operations that ran for it (see redis-store.ts), so a
 * settle or release resent after a reconnect is applied once and a late admission reserves nothing.
 */
export function callKey(prefix: string, subject: Pick<CounterSubject, 'tenantId'>, callId: string): string {
  return `${prefix}:limits:{${subject.tenantId}}:call:${callId}`;
}
