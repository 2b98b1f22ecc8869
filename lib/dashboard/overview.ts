import { db, pool } from '@/lib/db/client';
import { utcDayRange } from './time';

export interface OverviewStats {
  activeUsers: number;
  /** `inference.request` events since 00:00 UTC. */
  requestsToday: number;
  /** Sum of `cost_microdollars` over today's `inference.response` events. */
  spendTodayMicrodollars: bigint;
  auditEventsToday: number;
}

interface TodayRow {
  requests: string;
  spend: string;
  events: string;
}

/** One tenant's headline numbers, straight from the database (no caching: they are cheap). */
export async function overviewStats(tenantId: string, now: Date = new Date()): Promise<OverviewStats> {
  const { start, end } = utcDayRange(now);
  const [activeUsers, today] = await Promise.all([
    db().user.count({ where: { tenantId, status: 'active' } }),
    // Bounded on occurred_at both ways so PostgreSQL only opens this month's partition, and on
    // tenant + type so audit_events_type_time_idx serves it.
    pool().query<TodayRow>(
      `SELECT count(*) FILTER (WHERE event_type = 'inference.request')                               AS requests,
              coalesce(sum(cost_microdollars) FILTER (WHERE event_type = 'inference.response'), 0) AS spend,
              count(*)                                                                            AS events
         FROM audit_events
        WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3`,
      [tenantId, start, end],
    ),
  ]);
  const row = today.rows[0];
  // count() is bigint and sum() numeric: pg returns both as strings, which BigInt/Number take exactly.
  return {
    activeUsers,
    requestsToday: Number(row?.requests ?? 0),
    spendTodayMicrodollars: BigInt(row?.spend ?? 0),
    auditEventsToday: Number(row?.events ?? 0),
  };
}
