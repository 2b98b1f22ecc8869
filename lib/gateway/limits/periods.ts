import type { BudgetPeriod } from '@/lib/config';

export interface PeriodBounds {
  start: Date;
  /** Exclusive: the instant the period resets. */
  end: Date;
}

const DAY_MS = 86_400_000;

/** The UTC calendar period holding `at`: a day, a week from Monday 00:00, or a month. */
export function periodBounds(period: BudgetPeriod, at: Date): PeriodBounds {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  const day = at.getUTCDate();
  switch (period) {
    case 'daily':
      return { start: new Date(Date.UTC(year, month, day)), end: new Date(Date.UTC(year, month, day + 1)) };
    case 'weekly': {
      const sinceMonday = (at.getUTCDay() + 6) % 7;
      const start = Date.UTC(year, month, day - sinceMonday);
      return { start: new Date(start), end: new Date(start + 7 * DAY_MS) };
    }
    case 'monthly':
      return { start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
  }
}

/** `2026-11-23`: names a period in counter keys (with the period kind next to it). */
export function dayString(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Unix seconds, as the unified rate-limit headers carry resets. */
export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** `Aug 8`: when a cap resets, in the words of the client's own notices (UTC). */
export function shortDate(date: Date): string {
  return date.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
