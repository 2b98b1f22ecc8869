// The SQL of client telemetry: the only module that reads or writes client_telemetry_daily and
// client_telemetry_series.
import type pg from 'pg';
import { emptyFigures, type ClientFigures, type CumulativePoint } from './figures';

/**
 * Adds one export's figures to the user's daily rows. Cumulative series count only their increase
 * since the value last seen (a drop means the client restarted the series: the new value counts
 * whole). One transaction, so a retried export cannot half-apply.
 */
export async function addClientFigures(database: pg.Pool, tenantId: string, userId: string, figures: readonly ClientFigures[], cumulative: readonly CumulativePoint[]): Promise<void> {
  const client = await database.connect();
  try {
    await client.query('BEGIN');
    // One user's exports one at a time: two first sightings of a series must not both count whole.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`client-telemetry:${tenantId}:${userId}`]);
    const all = [...figures];
    for (const point of [...cumulative].sort((a, b) => a.seriesKey.localeCompare(b.seriesKey))) {
      const { rows } = await client.query<{ value: number }>(
        'SELECT value FROM client_telemetry_series WHERE tenant_id = $1 AND user_id = $2 AND series_key = $3 FOR UPDATE',
        [tenantId, userId, point.seriesKey],
      );
      await client.query(
        `INSERT INTO client_telemetry_series (tenant_id, user_id, series_key, value) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, user_id, series_key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [tenantId, userId, point.seriesKey, point.value],
      );
      const previous = rows[0]?.value ?? null;
      const increase = previous === null || point.value < previous ? point.value : point.value - previous;
      if (increase <= 0) continue;
      const row = emptyFigures(point.day, point.model);
      point.apply(row, increase);
      all.push(row);
    }
    for (const row of all) {
      await client.query(
        `INSERT INTO client_telemetry_daily AS d (tenant_id, user_id, day, model, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
           cost_microdollars, active_seconds, api_requests, tool_accepts, tool_rejects)
         VALUES ($1, $2, $3::date, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (tenant_id, user_id, day, model) DO UPDATE SET
           input_tokens = d.input_tokens + EXCLUDED.input_tokens, output_tokens = d.output_tokens + EXCLUDED.output_tokens,
           cache_read_tokens = d.cache_read_tokens + EXCLUDED.cache_read_tokens, cache_creation_tokens = d.cache_creation_tokens + EXCLUDED.cache_creation_tokens,
           cost_microdollars = d.cost_microdollars + EXCLUDED.cost_microdollars, active_seconds = d.active_seconds + EXCLUDED.active_seconds,
           api_requests = d.api_requests + EXCLUDED.api_requests, tool_accepts = d.tool_accepts + EXCLUDED.tool_accepts,
           tool_rejects = d.tool_rejects + EXCLUDED.tool_rejects, updated_at = now()`,
        [tenantId, userId, row.day, row.model, Math.round(row.inputTokens), Math.round(row.outputTokens), Math.round(row.cacheReadTokens), Math.round(row.cacheCreationTokens),
          Math.round(row.costMicrodollars), row.activeSeconds, row.apiRequests, row.toolAccepts, row.toolRejects],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Per user over [from, to] (UTC days): what Claude Code reported beside what the gateway recorded. */
export interface ClientVersusGateway {
  userId: string;
  email: string | null;
  department: string | null;
  clientInputTokens: number;
  clientOutputTokens: number;
  clientCacheTokens: number;
  clientCostMicrodollars: number;
  activeSeconds: number;
  clientApiRequests: number;
  toolAccepts: number;
  toolRejects: number;
  gatewayRequests: number;
  gatewayInputTokens: number;
  gatewayOutputTokens: number;
  gatewayCostMicrodollars: number;
}

export async function clientVersusGateway(database: pg.Pool, tenantId: string, from: string, to: string): Promise<ClientVersusGateway[]> {
  const { rows } = await database.query<ClientVersusGateway>(
    `WITH client AS (
       SELECT user_id, sum(input_tokens)::float8 AS input, sum(output_tokens)::float8 AS output,
         sum(cache_read_tokens + cache_creation_tokens)::float8 AS cache, sum(cost_microdollars)::float8 AS cost,
         sum(active_seconds)::float8 AS active, sum(api_requests)::float8 AS requests,
         sum(tool_accepts)::float8 AS accepts, sum(tool_rejects)::float8 AS rejects
       FROM client_telemetry_daily WHERE tenant_id = $1 AND day BETWEEN $2::date AND $3::date GROUP BY user_id),
     gateway AS (
       SELECT user_id, sum(requests)::float8 AS requests, sum(input_tokens)::float8 AS input, sum(output_tokens)::float8 AS output,
         sum(cost_microdollars)::float8 AS cost
       FROM spend_ledger WHERE tenant_id = $1 AND day BETWEEN $2::date AND $3::date GROUP BY user_id)
     SELECT c.user_id::text AS "userId", u.email, d.slug AS department,
       c.input AS "clientInputTokens", c.output AS "clientOutputTokens", c.cache AS "clientCacheTokens", c.cost AS "clientCostMicrodollars",
       c.active AS "activeSeconds", c.requests AS "clientApiRequests", c.accepts AS "toolAccepts", c.rejects AS "toolRejects",
       COALESCE(g.requests, 0) AS "gatewayRequests", COALESCE(g.input, 0) AS "gatewayInputTokens", COALESCE(g.output, 0) AS "gatewayOutputTokens",
       COALESCE(g.cost, 0) AS "gatewayCostMicrodollars"
     FROM client c LEFT JOIN gateway g ON g.user_id = c.user_id
       LEFT JOIN users u ON u.id = c.user_id LEFT JOIN departments d ON d.id = u.department_id
     ORDER BY c.cost DESC, u.email`,
    [tenantId, from, to],
  );
  return rows;
}
