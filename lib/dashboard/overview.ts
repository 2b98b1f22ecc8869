import { pool } from '@/lib/db/client';
import { utcDayRange } from './time';

/** The organisation's headline numbers for today (UTC); shown only to holders of the permissions. */
export interface TenantOverview {
  /** Distinct users who used the gateway or signed in today. */
  activeUsers: number;
  /** `inference.request` events since 00:00 UTC. */
  requestsToday: number;
  /** Sum of `cost_microdollars` over today's `inference.response` events. */
  spendTodayMicrodollars: bigint;
  auditEventsToday: number;
}

/** One person's own numbers for today: what every signed-in user may see about themselves. */
export interface PersonalOverview {
  requestsToday: number;
  spendTodayMicrodollars: bigint;
}

interface TenantRow {
  active_users: string;
  requests: string;
  spend: string;
  events: string;
}

// Activity that makes a user "active": using a model through the gateway, or signing in.
const ACTIVITY_TYPES = ['inference.request', 'auth.sign_in'];

/** One tenant's figures, straight from the database (no caching: they are cheap). */
export async function tenantOverview(tenantId: string, now: Date = new Date()): Promise<TenantOverview> {
  const { start, end } = utcDayRange(now);
  // Bounded on occurred_at both ways so PostgreSQL only opens this month's partition, and on
  // tenant so audit_events_type_time_idx serves it.
  const { rows } = await pool().query<TenantRow>(
    `SELECT count(DISTINCT actor_user_id) FILTER (WHERE event_type = ANY($4::text[]) AND outcome = 'success') AS active_users,
            count(*) FILTER (WHERE event_type = 'inference.request')                                        AS requests,
            coalesce(sum(cost_microdollars) FILTER (WHERE event_type = 'inference.response'), 0)          AS spend,
            count(*)                                                                                     AS events
       FROM audit_events
      WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3`,
    [tenantId, start, end, ACTIVITY_TYPES],
  );
  const row = rows[0];
  // count() is bigint and sum() numeric: pg returns both as strings, which BigInt/Number take exactly.
  return {
    activeUsers: Number(row?.active_users ?? 0),
    requestsToday: Number(row?.requests ?? 0),
    spendTodayMicrodollars: BigInt(row?.spend ?? 0),
    auditEventsToday: Number(row?.events ?? 0),
  };
}

/** The user's own requests and spend today. */
export async function personalOverview(tenantId: string, userId: string, now: Date = new Date()): Promise<PersonalOverview> {
  const { start, end } = utcDayRange(now);
  const { rows } = await pool().query<{ requests: string; spend: string }>(
    `SELECT count(*) FILTER (WHERE event_type = 'inference.request')                               AS requests,
            coalesce(sum(cost_microdollars) FILTER (WHERE event_type = 'inference.response'), 0) AS spend
       FROM audit_events
      WHERE tenant_id = $1 AND actor_user_id = $2 AND event_type IN ('inference.request', 'inference.response')
        AND occurred_at >= $3 AND occurred_at < $4`,
    [tenantId, userId, start, end],
  );
  const row = rows[0];
  return { requestsToday: Number(row?.requests ?? 0), spendTodayMicrodollars: BigInt(row?.spend ?? 0) };
}
