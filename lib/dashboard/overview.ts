import { pool } from '@/lib/db/client';

/** The overview's periods: the last 24 hours in hourly buckets, or the last 7 days in 6-hour ones. */
export const OVERVIEW_WINDOWS = { '24h': { hours: 24, bucketHours: 1 }, '7d': { hours: 168, bucketHours: 6 } } as const;
export type OverviewWindow = keyof typeof OVERVIEW_WINDOWS;

export function parseOverviewWindow(value: string | string[] | undefined): OverviewWindow {
  const single = Array.isArray(value) ? value[0] : value;
  return single === '7d' ? '7d' : '24h';
}

const HOUR_MS = 3_600_000;

export interface OverviewTotals {
  /** `inference.request` events: requests the gateway admitted. */
  requests: number;
  /** Requests refused by policy (policy.decision, outcome denied; a counted event adds its count). */
  blocked: number;
  /** `inference.response` events, and those whose call failed. */
  responses: number;
  errors: number;
  /** Spend in the ledger for calls admitted in the window (microdollars). */
  spendMicrodollars: bigint;
  /** Distinct users who made at least one request in the window (signing in alone does not count). */
  activeUsers: number;
  auditEvents: number;
}

export interface OverviewBucket {
  /** ISO start of the bucket (UTC). */
  start: string;
  requests: number;
  blocked: number;
  responses: number;
  errors: number;
  spendMicrodollars: number;
}

export interface ActivityOverview {
  window: OverviewWindow;
  start: Date;
  end: Date;
  totals: OverviewTotals;
  buckets: OverviewBucket[];
}

/** The window ending at the next whole hour, so buckets line up with the clock. */
export function overviewRange(window: OverviewWindow, now: Date): { start: Date; end: Date; bucketMs: number } {
  const end = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS);
  const { hours, bucketHours } = OVERVIEW_WINDOWS[window];
  return { start: new Date(end.getTime() - hours * HOUR_MS), end, bucketMs: bucketHours * HOUR_MS };
}

/** Share of `part` in `whole`, in percent with one decimal; 0 when there is nothing to share. */
export function ratePercent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0;
}

interface EventRow {
  bucket: number;
  requests: string;
  blocked: string;
  responses: string;
  errors: string;
  events: string;
}

/**
 * Requests, blocked requests, errors and spend over the window, per bucket and in total: the
 * organisation's (no `userId`) or one person's own. Bounded on occurred_at both ways so
 * PostgreSQL opens only the partitions it needs, and on tenant and type so
 * audit_events_type_time_idx serves it; spend comes from spend_entries by day and time.
 */
export async function activityOverview(tenantId: string, window: OverviewWindow, options: { userId?: string; now?: Date } = {}): Promise<ActivityOverview> {
  const { start, end, bucketMs } = overviewRange(window, options.now ?? new Date());
  return { window, start, end, ...(await activityBetween(tenantId, start, end, bucketMs, options.userId)) };
}

async function activityBetween(tenantId: string, start: Date, end: Date, bucketMs: number, userId?: string): Promise<Pick<ActivityOverview, 'totals' | 'buckets'>> {
  const seconds = bucketMs / 1000;
  const events = await pool().query<EventRow>(
    `SELECT floor(extract(epoch FROM occurred_at - $2::timestamptz) / $4)::int AS bucket,
            count(*) FILTER (WHERE event_type = 'inference.request') AS requests,
            coalesce(sum(CASE WHEN event_type = 'policy.decision' AND outcome = 'denied'
                              THEN coalesce((event->'attributes'->>'count')::bigint, 1) END), 0) AS blocked,
            count(*) FILTER (WHERE event_type = 'inference.response') AS responses,
            count(*) FILTER (WHERE event_type = 'inference.response' AND outcome = 'failure') AS errors,
            count(*) AS events
       FROM audit_events
      WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3
        AND ($5::uuid IS NULL OR actor_user_id = $5::uuid)
      GROUP BY 1`,
    [tenantId, start, end, seconds, userId ?? null],
  );
  const active = await pool().query<{ users: string }>(
    `SELECT count(DISTINCT actor_user_id) AS users FROM audit_events
      WHERE tenant_id = $1 AND event_type = 'inference.request' AND occurred_at >= $2 AND occurred_at < $3
        AND ($4::uuid IS NULL OR actor_user_id = $4::uuid)`,
    [tenantId, start, end, userId ?? null],
  );
  const spend = await pool().query<{ bucket: number; spend: string }>(
    `SELECT floor(extract(epoch FROM occurred_at - $2::timestamptz) / $4)::int AS bucket, sum(cost_microdollars)::text AS spend
       FROM spend_entries
      WHERE tenant_id = $1 AND day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND day <= ($3::timestamptz AT TIME ZONE 'UTC')::date
        AND occurred_at >= $2 AND occurred_at < $3 AND ($5::uuid IS NULL OR user_id = $5::uuid)
      GROUP BY 1`,
    [tenantId, start, end, seconds, userId ?? null],
  );

  const count = (end.getTime() - start.getTime()) / bucketMs;
  const buckets: OverviewBucket[] = Array.from({ length: count }, (_, index) => ({
    start: new Date(start.getTime() + index * bucketMs).toISOString(),
    requests: 0,
    blocked: 0,
    responses: 0,
    errors: 0,
    spendMicrodollars: 0,
  }));
  const totals: OverviewTotals = { requests: 0, blocked: 0, responses: 0, errors: 0, spendMicrodollars: 0n, activeUsers: Number(active.rows[0]?.users ?? 0), auditEvents: 0 };
  for (const row of events.rows) {
    const bucket = buckets[row.bucket];
    const figures = { requests: Number(row.requests), blocked: Number(row.blocked), responses: Number(row.responses), errors: Number(row.errors) };
    if (bucket) Object.assign(bucket, figures);
    totals.requests += figures.requests;
    totals.blocked += figures.blocked;
    totals.responses += figures.responses;
    totals.errors += figures.errors;
    totals.auditEvents += Number(row.events);
  }
  for (const row of spend.rows) {
    const bucket = buckets[row.bucket];
    if (bucket) bucket.spendMicrodollars = Number(row.spend);
    totals.spendMicrodollars += BigInt(row.spend ?? 0);
  }
  return { totals, buckets };
}

/** Today's (UTC) organisation figures, as the Connect page shows them beside the person's own. */
export interface TenantOverview {
  /** Distinct users who made a request today. */
  activeUsers: number;
  requestsToday: number;
  spendTodayMicrodollars: bigint;
  auditEventsToday: number;
}

export interface PersonalOverview {
  requestsToday: number;
  spendTodayMicrodollars: bigint;
}

/** The UTC day holding `now`, counted by the same statements as the overview's windows. */
async function todayTotals(tenantId: string, now: Date, userId?: string): Promise<OverviewTotals> {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return (await activityBetween(tenantId, start, new Date(start.getTime() + 24 * HOUR_MS), HOUR_MS, userId)).totals;
}

export async function tenantOverview(tenantId: string, now: Date = new Date()): Promise<TenantOverview> {
  const totals = await todayTotals(tenantId, now);
  return { activeUsers: totals.activeUsers, requestsToday: totals.requests, spendTodayMicrodollars: totals.spendMicrodollars, auditEventsToday: totals.auditEvents };
}

export async function personalOverview(tenantId: string, userId: string, now: Date = new Date()): Promise<PersonalOverview> {
  const totals = await todayTotals(tenantId, now, userId);
  return { requestsToday: totals.requests, spendTodayMicrodollars: totals.spendMicrodollars };
}
