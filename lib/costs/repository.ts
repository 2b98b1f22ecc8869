// Every statement the finance views run (cost rollups, their reconciliation and the queries the
// Costs page and the CSV export read), in one place.
import type pg from 'pg';
import { pool } from '@/lib/db/client';
import type { CostFilter, CostGroup, CostQuery } from './query';

/** Figures summed over rollup rows; token counts and cost as bigint (they outgrow doubles). */
export interface CostFigures {
  requests: number;
  estimatedRequests: number;
  inputTokens: bigint;
  outputTokens: bigint;
  cacheCreationInputTokens: bigint;
  cacheReadInputTokens: bigint;
  costMicrodollars: bigint;
}

export interface CostRow extends CostFigures {
  /** First UTC day of the bucket (YYYY-MM-DD); absent in totals. */
  period: string;
  /** The group's value ('' when the call had none, or when grouped by nothing). */
  key: string;
}

const FIGURE_COLUMNS = `sum(requests)::int AS requests, sum(estimated_requests)::int AS estimated_requests,
       sum(input_tokens)::text AS input_tokens, sum(output_tokens)::text AS output_tokens,
       sum(cache_creation_input_tokens)::text AS cache_creation_input_tokens,
       sum(cache_read_input_tokens)::text AS cache_read_input_tokens, sum(cost_microdollars)::text AS cost_microdollars`;

interface FigureRow {
  requests: number;
  estimated_requests: number;
  input_tokens: string;
  output_tokens: string;
  cache_creation_input_tokens: string;
  cache_read_input_tokens: string;
  cost_microdollars: string;
}

interface SqlCostRow extends FigureRow {
  period: string;
  key: string;
}

function figures(row: FigureRow): CostFigures {
  return {
    requests: Number(row.requests ?? 0),
    estimatedRequests: Number(row.estimated_requests ?? 0),
    inputTokens: BigInt(row.input_tokens ?? 0),
    outputTokens: BigInt(row.output_tokens ?? 0),
    cacheCreationInputTokens: BigInt(row.cache_creation_input_tokens ?? 0),
    cacheReadInputTokens: BigInt(row.cache_read_input_tokens ?? 0),
    costMicrodollars: BigInt(row.cost_microdollars ?? 0),
  };
}

export function costRow(row: SqlCostRow): CostRow {
  return { period: row.period, key: row.key, ...figures(row) };
}

// Column names come from these fixed maps only, never from the request.
const GROUP_COLUMN: Record<CostGroup, string> = {
  user: 'user_id::text',
  department: 'department',
  model: 'model',
  upstream: 'upstream',
  route: 'route',
  none: `''`,
};
const FILTER_COLUMN: Record<CostFilter, string> = { user: 'user_id', department: 'department', model: 'model', upstream: 'upstream', route: 'route' };
const INTERVAL_UNIT = { day: 'day', week: 'week', month: 'month' } as const;

interface WhereClause {
  sql: string;
  params: unknown[];
}

/** The view's rows: the tenant, the inclusive day range and each exact-match filter. */
function where(tenantId: string, query: CostQuery): WhereClause {
  const params: unknown[] = [tenantId, query.from, query.to];
  const conditions = ['tenant_id = $1', 'day >= $2::date', 'day <= $3::date'];
  for (const [name, value] of Object.entries(query.filters) as [CostFilter, string | undefined][]) {
    if (value === undefined) continue;
    params.push(value === '(none)' ? '' : value);
    conditions.push(`${FILTER_COLUMN[name]} = $${params.length}`);
  }
  return { sql: conditions.join(' AND '), params };
}

/** The SELECT behind a view's series and its CSV export: one row per bucket and group, in order. */
export function seriesStatement(tenantId: string, query: CostQuery): { text: string; values: unknown[] } {
  const clause = where(tenantId, query);
  const period = `to_char(date_trunc('${INTERVAL_UNIT[query.interval]}', day::timestamp), 'YYYY-MM-DD')`;
  return {
    text: `SELECT ${period} AS period, ${GROUP_COLUMN[query.groupBy]} AS key, ${FIGURE_COLUMNS}
             FROM cost_rollups WHERE ${clause.sql}
            GROUP BY 1, 2 ORDER BY 1, 2`,
    values: clause.params,
  };
}

export async function costSeries(tenantId: string, query: CostQuery): Promise<CostRow[]> {
  const { rows } = await pool().query<SqlCostRow>(seriesStatement(tenantId, query));
  return rows.map(costRow);
}

/** The range's totals per group, most expensive first. */
export async function costTotals(tenantId: string, query: CostQuery, group: CostGroup = query.groupBy, limit?: number): Promise<CostRow[]> {
  const clause = where(tenantId, query);
  const params = [...clause.params];
  let limitSql = '';
  if (limit !== undefined) {
    params.push(limit);
    limitSql = `LIMIT $${params.length}`;
  }
  const { rows } = await pool().query<SqlCostRow>(
    `SELECT '' AS period, ${GROUP_COLUMN[group]} AS key, ${FIGURE_COLUMNS}
       FROM cost_rollups WHERE ${clause.sql}
      GROUP BY 2 ORDER BY sum(cost_microdollars) DESC, 2 ${limitSql}`,
    params,
  );
  return rows.map(costRow);
}

export interface UserLabel {
  email: string;
  name: string;
}

/** Who the user ids in a view are; ids of users since removed are simply absent. */
export async function userLabels(ids: readonly string[]): Promise<Map<string, UserLabel>> {
  if (!ids.length) return new Map();
  const { rows } = await pool().query<{ id: string; email: string; name: string }>('SELECT id::text AS id, email, name FROM users WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((row) => [row.id, { email: row.email, name: row.name }]));
}

/** When the rollups were last brought up to date (any day), or null before the first run. */
export async function lastRollupAt(tenantId: string): Promise<Date | null> {
  const { rows } = await pool().query<{ at: Date | null }>('SELECT max(rolled_up_at) AS at FROM cost_rollup_days WHERE tenant_id = $1', [tenantId]);
  return rows[0]?.at ?? null;
}

// ---------------------------------------------------------------------------------------------
// Rollups (the cost-rollup worker job).

export interface RollupDay {
  tenantId: string;
  day: string;
}

/**
 * UTC days whose spend_entries no longer match the fingerprint their rollup was computed from
 * (count, cost and latest recorded_at), or that were never rolled up; from `since` on, or all.
 */
export async function staleRollupDays(since: string | null): Promise<RollupDay[]> {
  const { rows } = await pool().query<{ tenant_id: string; day: string }>(
    `WITH source AS (
       SELECT tenant_id, day, count(*)::int AS entries, sum(cost_microdollars) AS cost, max(recorded_at) AS last
         FROM spend_entries WHERE $1::date IS NULL OR day >= $1::date
        GROUP BY tenant_id, day
     ), rolled AS (
       SELECT tenant_id, day, entries, cost_microdollars AS cost, last_recorded_at AS last
         FROM cost_rollup_days WHERE $1::date IS NULL OR day >= $1::date
     )
     SELECT tenant_id::text, to_char(day, 'YYYY-MM-DD') AS day
       FROM source s FULL JOIN rolled r USING (tenant_id, day)
      WHERE s.entries IS DISTINCT FROM r.entries OR s.cost IS DISTINCT FROM r.cost OR s.last IS DISTINCT FROM r.last
      ORDER BY day, tenant_id`,
    [since],
  );
  return rows.map((row) => ({ tenantId: row.tenant_id, day: row.day }));
}

const ROLLUP_FIGURES = `count(*)::int, count(*) FILTER (WHERE usage_estimated)::int, sum(input_tokens), sum(output_tokens),
       sum(cache_creation_input_tokens), sum(cache_read_input_tokens), sum(web_search_requests)::int, sum(cost_microdollars)`;

/**
 * Recomputes one UTC day from its spend_entries in one repeatable-read transaction: the rollup
 * rows and the fingerprint they were computed from come from the same snapshot, so an entry
 * written meanwhile changes the fingerprint and the next run takes the day again.
 */
export async function rollUpDay(target: RollupDay): Promise<{ entries: number }> {
  const client: pg.PoolClient = await pool().connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    // Two workers rolling up the same day take turns rather than fail on each other's rows.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('cost_rollup:' || $1 || ':' || $2))`, [target.tenantId, target.day]);
    await client.query('DELETE FROM cost_rollups WHERE tenant_id = $1 AND day = $2::date', [target.tenantId, target.day]);
    await client.query(
      `INSERT INTO cost_rollups (tenant_id, day, user_id, department, model, upstream, route, requests, estimated_requests,
                                 input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
                                 web_search_requests, cost_microdollars)
       SELECT tenant_id, day, user_id, coalesce(department, ''), model, coalesce(upstream, ''), coalesce(route, ''), ${ROLLUP_FIGURES}
         FROM spend_entries WHERE tenant_id = $1 AND day = $2::date
        GROUP BY tenant_id, day, user_id, coalesce(department, ''), model, coalesce(upstream, ''), coalesce(route, '')`,
      [target.tenantId, target.day],
    );
    const { rows } = await client.query<{ entries: number }>(
      `WITH fingerprint AS (
         SELECT count(*)::int AS entries, coalesce(sum(cost_microdollars), 0) AS cost, max(recorded_at) AS last
           FROM spend_entries WHERE tenant_id = $1 AND day = $2::date
       ), kept AS (
         INSERT INTO cost_rollup_days (tenant_id, day, entries, cost_microdollars, last_recorded_at, rolled_up_at)
         SELECT $1, $2::date, entries, cost, last, now() FROM fingerprint WHERE entries > 0
         ON CONFLICT (tenant_id, day) DO UPDATE SET entries = EXCLUDED.entries, cost_microdollars = EXCLUDED.cost_microdollars,
                                                    last_recorded_at = EXCLUDED.last_recorded_at, rolled_up_at = EXCLUDED.rolled_up_at
       ), dropped AS (
         DELETE FROM cost_rollup_days WHERE tenant_id = $1 AND day = $2::date AND (SELECT entries FROM fingerprint) = 0
       )
       SELECT entries FROM fingerprint`,
      [target.tenantId, target.day],
    );
    await client.query('COMMIT');
    return { entries: rows[0]?.entries ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
