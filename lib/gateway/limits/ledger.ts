import { pool } from '@/lib/db/client';
import type { Usage } from '@/lib/gateway/contracts';
import type { CounterScope } from './plan';
import { dayString, periodBounds } from './periods';

/** One priced call, as the ledger keeps it (one spend_entries row, added to the day's aggregate). */
export interface SpendEntry {
  /** The call id: the inference.request event's event_id. */
  callId: string;
  traceId: string;
  tenantId: string;
  userId: string;
  department: string | null;
  /** The Anthropic-style model id the client asked for. */
  model: string;
  /** `provider/model` that answered; null when not known. */
  upstream: string | null;
  /** The route that served the call (`routes[0]`, `model:…`), for the cost breakdowns; null when not known. */
  route?: string | null;
  /** When the call was admitted; its UTC day is the ledger row's, as it is the budget period's. */
  at: Date;
  /** The usage billed: reported by the upstream, or Gatehouse's estimate (usageEstimated). */
  usage: Usage | null;
  costMicrodollars: number;
  usageEstimated: boolean;
  outcome: 'success' | 'failure' | 'unknown';
  /** The gateway settling its own call, or the reconciler closing one whose end nobody saw. */
  recordedBy: 'gateway' | 'reconciler';
}

export interface RecordedSpend {
  /**
   * new: the entry was written and added to the aggregate. corrected: a reconciler's estimate was
   * replaced by the gateway's late settle. duplicate: the call was already recorded; nothing changed.
   */
  result: 'new' | 'corrected' | 'duplicate';
  /** How much the ledger's total changed, microdollars (negative when a correction lowered it). */
  addedMicrodollars: number;
}

export interface SpendScope {
  scope: CounterScope;
  tenantId: string;
  userId: string;
  department: string | null;
}

/** Where spend is recorded and summed: spend_entries and spend_ledger (PostgreSQL) in production. */
export interface SpendLedger {
  /** Records a call once, whoever records it first; a later record of the same call changes nothing (see RecordedSpend). */
  record(entry: SpendEntry): Promise<RecordedSpend>;
  /** Microdollars spent in [from, to) by the scope's subject; UTC days. */
  spent(scope: SpendScope, from: Date, to: Date): Promise<number>;
}

function whole(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.trunc(value) : 0;
}

const AGGREGATED = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'cost_microdollars'] as const;

/**
 * The entry, and its addition to the day's aggregate, in one statement: the aggregate grows only
 * when the entry row is new, so no call is ever counted twice, and concurrent settles of the same
 * user and model never lose an increment.
 */
const INSERT_ENTRY = `
WITH entry AS (
  INSERT INTO spend_entries (call_id, trace_id, tenant_id, user_id, department, model, upstream, occurred_at, day,
                             input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
                             web_search_requests, cost_microdollars, usage_estimated, outcome, recorded_by, route)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
  ON CONFLICT (call_id) DO NOTHING
  RETURNING *
), aggregate AS (
  INSERT INTO spend_ledger AS l (tenant_id, user_id, day, model, department, requests, estimated_requests,
                                 ${AGGREGATED.join(', ')}, updated_at)
  SELECT tenant_id, user_id, day, model, department, 1, CASE WHEN usage_estimated THEN 1 ELSE 0 END, ${AGGREGATED.join(', ')}, now()
    FROM entry
  ON CONFLICT (tenant_id, user_id, day, model) DO UPDATE SET
    requests = l.requests + 1,
    estimated_requests = l.estimated_requests + EXCLUDED.estimated_requests,
    ${AGGREGATED.map((column) => `${column} = l.${column} + EXCLUDED.${column}`).join(',\n    ')},
    updated_at = now()
  RETURNING 1
)
SELECT cost_microdollars::text AS added FROM entry`;

/**
 * A call the reconciler closed at an estimate, whose real end the gateway saw after all (a call
 * that ran longer than gateway.reconcile_after_seconds): the entry takes the real figures and the
 * aggregate moves by the difference, in one statement. Only a reconciler's entry is ever replaced.
 */
const CORRECT_ENTRY = `
WITH prior AS (
  SELECT * FROM spend_entries WHERE call_id = $1 AND recorded_by = 'reconciler' FOR UPDATE
), updated AS (
  UPDATE spend_entries e SET
    upstream = $2, input_tokens = $3, output_tokens = $4, cache_creation_input_tokens = $5, cache_read_input_tokens = $6,
    web_search_requests = $7, cost_microdollars = $8, usage_estimated = $9, outcome = $10, recorded_by = 'gateway', recorded_at = now()
  FROM prior WHERE e.call_id = prior.call_id
  RETURNING e.tenant_id, e.user_id, e.day, e.model,
            (e.usage_estimated::int - prior.usage_estimated::int) AS estimated_requests,
            ${AGGREGATED.map((column) => `e.${column} - prior.${column} AS ${column}`).join(', ')}
)
UPDATE spend_ledger l SET
  estimated_requests = l.estimated_requests + u.estimated_requests,
  ${AGGREGATED.map((column) => `${column} = l.${column} + u.${column}`).join(',\n  ')},
  updated_at = now()
FROM updated u
WHERE l.tenant_id = u.tenant_id AND l.user_id = u.user_id AND l.day = u.day AND l.model = u.model
RETURNING u.cost_microdollars::text AS added`;

/** The spend ledger in PostgreSQL (spend_entries per call, spend_ledger per user, day and model). */
export const postgresSpendLedger: SpendLedger = {
  async record(entry) {
    const usage = entry.usage;
    const figures = [
      whole(usage?.input_tokens),
      whole(usage?.output_tokens),
      whole(usage?.cache_creation_input_tokens),
      whole(usage?.cache_read_input_tokens),
      whole(usage?.server_tool_use?.web_search_requests),
      whole(entry.costMicrodollars),
      entry.usageEstimated,
      entry.outcome,
    ];
    const inserted = await pool().query<{ added: string }>(INSERT_ENTRY, [
      entry.callId,
      entry.traceId,
      entry.tenantId,
      entry.userId,
      entry.department,
      entry.model,
      entry.upstream,
      entry.at,
      dayString(entry.at),
      ...figures,
      entry.recordedBy,
      entry.route ?? null,
    ]);
    if (inserted.rows.length) return { result: 'new', addedMicrodollars: Number(inserted.rows[0]!.added) };
    if (entry.recordedBy !== 'gateway') return { result: 'duplicate', addedMicrodollars: 0 };
    const corrected = await pool().query<{ added: string }>(CORRECT_ENTRY, [entry.callId, entry.upstream, ...figures]);
    if (corrected.rows.length) return { result: 'corrected', addedMicrodollars: Number(corrected.rows[0]!.added) };
    return { result: 'duplicate', addedMicrodollars: 0 };
  },

  async spent(scope, from, to) {
    const conditions = ['tenant_id = $1', 'day >= $2', 'day < $3'];
    const params: unknown[] = [scope.tenantId, dayString(from), dayString(to)];
    if (scope.scope === 'user') {
      params.push(scope.userId);
      conditions.push(`user_id = $${params.length}`);
    } else if (scope.scope === 'department') {
      params.push(scope.department);
      conditions.push(`department = $${params.length}`);
    }
    const result = await pool().query<{ spent: string | null }>(`SELECT sum(cost_microdollars)::text AS spent FROM spend_ledger WHERE ${conditions.join(' AND ')}`, params);
    return Number(result.rows[0]?.spent ?? 0);
  },
};

/** A user's own spend in the UTC day, week (from Monday) and month holding `now`, for GET /api/oauth/usage. */
export async function userSpendSummary(tenantId: string, userId: string, now: Date): Promise<{ day: number; week: number; month: number }> {
  const day = periodBounds('daily', now).start;
  const week = periodBounds('weekly', now).start;
  const month = periodBounds('monthly', now).start;
  const result = await pool().query<{ day: string | null; week: string | null; month: string | null }>(
    `SELECT sum(cost_microdollars) FILTER (WHERE day >= $4)::text AS day,
            sum(cost_microdollars) FILTER (WHERE day >= $5)::text AS week,
            sum(cost_microdollars) FILTER (WHERE day >= $6)::text AS month
       FROM spend_ledger
      WHERE tenant_id = $1 AND user_id = $2 AND day >= $3`,
    [tenantId, userId, dayString(week < month ? week : month), dayString(day), dayString(week), dayString(month)],
  );
  const row = result.rows[0];
  return { day: Number(row?.day ?? 0), week: Number(row?.week ?? 0), month: Number(row?.month ?? 0) };
}

/** The whole tenant's spend today and this UTC month (microdollars), for holders of costs.read. */
export async function tenantSpendSummary(tenantId: string, now: Date): Promise<{ day: number; month: number }> {
  const day = periodBounds('daily', now).start;
  const month = periodBounds('monthly', now).start;
  const result = await pool().query<{ day: string | null; month: string | null }>(
    `SELECT sum(cost_microdollars) FILTER (WHERE day >= $3)::text AS day,
            sum(cost_microdollars)::text                          AS month
       FROM spend_ledger
      WHERE tenant_id = $1 AND day >= $2`,
    [tenantId, dayString(month), dayString(day)],
  );
  const row = result.rows[0];
  return { day: Number(row?.day ?? 0), month: Number(row?.month ?? 0) };
}
