import { z } from 'zod';

/** What a cost view can be broken down by: a rollup dimension, or nothing (one total per period). */
export const COST_GROUPS = ['user', 'department', 'model', 'upstream', 'route', 'none'] as const;
export type CostGroup = (typeof COST_GROUPS)[number];

/** Calendar buckets in UTC; weeks start on Monday, as budget periods do. */
export const COST_INTERVALS = ['day', 'week', 'month'] as const;
export type CostInterval = (typeof COST_INTERVALS)[number];

/** Dimensions a view can be narrowed to (exact match); `user` is a user id. */
export const COST_FILTERS = ['user', 'department', 'model', 'upstream', 'route'] as const;
export type CostFilter = (typeof COST_FILTERS)[number];

export interface CostQuery {
  /** First UTC day, inclusive (YYYY-MM-DD). */
  from: string;
  /** Last UTC day, inclusive (YYYY-MM-DD). */
  to: string;
  interval: CostInterval;
  groupBy: CostGroup;
  filters: Partial<Record<CostFilter, string>>;
}

/** The longest range one view covers: enough for a year-on-year look, bounded so a query stays cheap. */
export const MAX_RANGE_DAYS = 731;
export const DEFAULT_RANGE_DAYS = 30;
const DAY_MS = 86_400_000;

const isoDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD (a UTC day)')
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), 'is not a calendar date');

const filterValue = z.string().trim().min(1).max(500).optional();

const querySchema = z.strictObject({
  from: isoDay.optional(),
  to: isoDay.optional(),
  interval: z.enum(COST_INTERVALS).default('day'),
  group_by: z.enum(COST_GROUPS).default('model'),
  user: z.guid('must be a user id').optional(),
  department: filterValue,
  model: filterValue,
  upstream: filterValue,
  route: filterValue,
  // The export's own parameter; the page ignores it.
  format: z.literal('csv').optional(),
});

export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS));
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

export class CostQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostQueryError';
  }
}

/**
 * A cost view from URL parameters (the page's and the export's): unknown parameters and bad
 * values are refused with one message naming each, never silently widened.
 */
export function parseCostQuery(params: URLSearchParams | Record<string, string | string[] | undefined>, now: Date = new Date()): CostQuery {
  const raw: Record<string, string> = {};
  const entries = params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params);
  for (const [key, value] of entries) {
    const single = Array.isArray(value) ? value[0] : value;
    if (single !== undefined && single !== '') raw[key] = single;
  }
  const parsed = querySchema.safeParse(raw);
  if (!parsed.success) {
    throw new CostQueryError(parsed.error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; '));
  }
  const value = parsed.data;
  const to = value.to ?? utcDay(now);
  const from = value.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  if (from > to) throw new CostQueryError(`from (${from}) is after to (${to})`);
  if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) throw new CostQueryError(`the range covers ${daysBetween(from, to) + 1} days; at most ${MAX_RANGE_DAYS} are allowed`);
  const filters: CostQuery['filters'] = {};
  for (const name of COST_FILTERS) if (value[name] !== undefined) filters[name] = value[name];
  return { from, to, interval: value.interval, groupBy: value.group_by, filters };
}

/** The URL parameters of a view, the inverse of parseCostQuery (for links and the export). */
export function costQueryParams(query: CostQuery, overrides: Partial<Record<string, string | undefined>> = {}): URLSearchParams {
  const params = new URLSearchParams({ from: query.from, to: query.to, interval: query.interval, group_by: query.groupBy });
  for (const [name, value] of Object.entries(query.filters)) if (value) params.set(name, value);
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) params.delete(name);
    else params.set(name, value);
  }
  return params;
}
