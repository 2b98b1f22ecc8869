import { addDays, type CostGroup, type CostInterval, type CostQuery } from './query';
import { costSeries, costTotals, lastRollupAt, userLabels, type CostRow } from './repository';

/** Groups drawn as their own colour in the chart; the rest are summed as "Other". */
export const CHART_GROUPS = 8;
export const TOP_SPENDERS = 10;
export const OTHER_KEY = '\u0000other';

/** One breakdown row as the page shows it; amounts as strings (bigint does not cross to the browser). */
export interface CostBreakdownRow {
  key: string;
  label: string;
  requests: number;
  estimatedRequests: number;
  inputTokens: string;
  outputTokens: string;
  cacheReadInputTokens: string;
  cacheCreationInputTokens: string;
  costMicrodollars: string;
  /** Of the view's total spend, 0–100. */
  share: number;
}

export interface CostChartPoint {
  period: string;
  /** Per group key: dollars, tokens (input + output + cache writes) and requests. */
  values: Record<string, { usd: number; tokens: number; requests: number }>;
}

export interface CostView {
  query: CostQuery;
  groups: { key: string; label: string }[];
  points: CostChartPoint[];
  breakdown: CostBreakdownRow[];
  topSpenders: CostBreakdownRow[];
  totals: { requests: number; estimatedRequests: number; tokens: string; costMicrodollars: string };
  lastRollupAt: string | null;
}

/** Every bucket start in the range, so days without spend show as gaps, not as missing bars. */
export function periodsOf(from: string, to: string, interval: CostInterval): string[] {
  const start = new Date(`${from}T00:00:00Z`);
  let cursor: string;
  if (interval === 'day') cursor = from;
  else if (interval === 'week') cursor = addDays(from, -((start.getUTCDay() + 6) % 7));
  else cursor = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1)).toISOString().slice(0, 10);
  const periods: string[] = [];
  while (cursor <= to) {
    periods.push(cursor);
    if (interval === 'day') cursor = addDays(cursor, 1);
    else if (interval === 'week') cursor = addDays(cursor, 7);
    else {
      const at = new Date(`${cursor}T00:00:00Z`);
      cursor = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
    }
  }
  return periods;
}

function labelFor(group: CostGroup, key: string, users: Map<string, { email: string }>): string {
  if (group === 'none') return 'All spend';
  if (group === 'user') return users.get(key)?.email ?? `removed user ${key.slice(0, 8)}`;
  return key === '' ? '(none)' : key;
}

function tokensOf(row: CostRow): bigint {
  return row.inputTokens + row.outputTokens + row.cacheCreationInputTokens;
}

function breakdownRow(row: CostRow, label: string, total: bigint): CostBreakdownRow {
  return {
    key: row.key,
    label,
    requests: row.requests,
    estimatedRequests: row.estimatedRequests,
    inputTokens: row.inputTokens.toString(),
    outputTokens: row.outputTokens.toString(),
    cacheReadInputTokens: row.cacheReadInputTokens.toString(),
    cacheCreationInputTokens: row.cacheCreationInputTokens.toString(),
    costMicrodollars: row.costMicrodollars.toString(),
    share: total > 0n ? Number((row.costMicrodollars * 10_000n) / total) / 100 : 0,
  };
}

/** Everything the Costs page shows for one view, read from the daily rollups. */
export async function loadCostView(tenantId: string, query: CostQuery): Promise<CostView> {
  const [series, totals, spenders, rolledUp] = await Promise.all([
    costSeries(tenantId, query),
    costTotals(tenantId, query),
    costTotals(tenantId, query, 'user', TOP_SPENDERS),
    lastRollupAt(tenantId),
  ]);
  const userIds = new Set(spenders.map((row) => row.key));
  if (query.groupBy === 'user') for (const row of totals) userIds.add(row.key);
  const users = await userLabels([...userIds]);
  const total = totals.reduce((sum, row) => sum + row.costMicrodollars, 0n);

  const charted = totals.slice(0, CHART_GROUPS);
  const chartedKeys = new Set(charted.map((row) => row.key));
  const groups = charted.map((row) => ({ key: row.key, label: labelFor(query.groupBy, row.key, users) }));
  if (totals.length > CHART_GROUPS) groups.push({ key: OTHER_KEY, label: `Other (${totals.length - CHART_GROUPS})` });

  const points = new Map<string, CostChartPoint>(periodsOf(query.from, query.to, query.interval).map((period) => [period, { period, values: {} }]));
  for (const row of series) {
    const point = points.get(row.period) ?? { period: row.period, values: {} };
    points.set(row.period, point);
    const key = chartedKeys.has(row.key) ? row.key : OTHER_KEY;
    const value = (point.values[key] ??= { usd: 0, tokens: 0, requests: 0 });
    value.usd += Number(row.costMicrodollars) / 1e6;
    value.tokens += Number(tokensOf(row));
    value.requests += row.requests;
  }

  return {
    query,
    groups,
    points: [...points.values()].sort((a, b) => a.period.localeCompare(b.period)),
    breakdown: totals.map((row) => breakdownRow(row, labelFor(query.groupBy, row.key, users), total)),
    topSpenders: spenders.map((row) => breakdownRow(row, labelFor('user', row.key, users), total)),
    totals: {
      requests: totals.reduce((sum, row) => sum + row.requests, 0),
      estimatedRequests: totals.reduce((sum, row) => sum + row.estimatedRequests, 0),
      tokens: totals.reduce((sum, row) => sum + tokensOf(row), 0n).toString(),
      costMicrodollars: total.toString(),
    },
    lastRollupAt: rolledUp?.toISOString() ?? null,
  };
}
