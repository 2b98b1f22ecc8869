// Links from a cost figure to the requests behind it, in the request explorer (/audit), whose
// filters are query parameters: from/to as UTC dates (to takes in that whole day), user (id),
// model, upstream, department. Pure: the chart (a client component) uses it too.
import type { CostFilter, CostGroup, CostInterval } from './query';

const EXPLORER_PARAM: Partial<Record<CostFilter, string>> = { user: 'user', department: 'department', model: 'model', upstream: 'upstream' };

function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The last UTC day of the bucket starting at `period`. */
export function periodEnd(period: string, interval: CostInterval): string {
  if (interval === 'day') return period;
  if (interval === 'week') return addDays(period, 6);
  const start = new Date(`${period}T00:00:00Z`);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
}

export interface DrillDown {
  /** Inclusive UTC days. */
  from: string;
  to: string;
  filters: Partial<Record<CostFilter, string>>;
  group?: { by: CostGroup; key: string };
}

/** `/audit?from=…&to=…&model=…`: the explorer's view of the same calls (route has no explorer filter). */
export function explorerHref(drill: DrillDown): string {
  const params = new URLSearchParams({ from: drill.from, to: drill.to });
  const filters = { ...drill.filters };
  if (drill.group && drill.group.by !== 'none') filters[drill.group.by] = drill.group.key;
  for (const [name, value] of Object.entries(filters) as [CostFilter, string | undefined][]) {
    const param = EXPLORER_PARAM[name];
    // '' is "none recorded": the explorer has no filter for an absent value.
    if (param && value) params.set(param, value);
  }
  return `/audit?${params.toString()}`;
}

/** A bucket's drill-down, clipped to the view's own range. */
export function bucketDrillDown(view: { from: string; to: string; interval: CostInterval; filters: Partial<Record<CostFilter, string>> }, period: string, group?: { by: CostGroup; key: string }): DrillDown {
  const end = periodEnd(period, view.interval);
  return { from: period < view.from ? view.from : period, to: end > view.to ? view.to : end, filters: view.filters, ...(group ? { group } : {}) };
}
