import { pool } from '@/lib/db/client';
import type { Usage } from '@/lib/gateway/contracts';
import type { CounterScope } from './plan';
import { dayString, periodBounds } from './periods';

/** One settled request, as the ledger adds it up. */
export interface SpendEntry {
  tenantId: string;
  userId: string;
  department: string | null;
  /** The Anthropic-style model id the client asked for. */
  model: string;
  /** When the request settled; its UTC day is the ledger row's. */
  at: Date;
  usage: Usage | null;
  costMicrodollars: number;
}

export interface SpendScope {
  scope: CounterScope;
  tenantId: string;
  userId: string;
  department: string | null;
}

/** Where spend is recorded and summed: the spend_ledger table (PostgreSQL) in production. */
export interface SpendLedger {
  record(entry: SpendEntry): Promise<void>;
  /** Microdollars spent in [from, to) by the scope's subject; UTC days. */
  spent(scope: SpendScope, from: Date, to: Date): Promise<number>;
}

function whole(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.trunc(value) : 0;
}

/**
 * The spend ledger in PostgreSQL. A settle is one INSERT … ON CONFLICT DO UPDATE adding to the
 * day's row, so concurrent settles of the same user and model never lose an increment.
 */
export const postgresSpendLedger: SpendLedger = {
  async record(entry) {
    const usage = entry.usage;
    await pool().query(
      `INSERT INTO spend_ledger AS l (tenant_id, user_id, day, model, department, requests, input_tokens, output_tokens,
                                      cache_creation_input_tokens, cache_read_input_tokens, cost_microdollars, updated_at)
       VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10, now())
       ON CONFLICT (tenant_id, user_id, day, model) DO UPDATE SET
         requests = l.requests + 1,
         input_tokens = l.input_tokens + EXCLUDED.input_tokens,
         output_tokens = l.output_tokens + EXCLUDED.output_tokens,
         cache_creation_input_tokens = l.cache_creation_input_tokens + EXCLUDED.cache_creation_input_tokens,
         cache_read_input_tokens = l.cache_read_input_tokens + EXCLUDED.cache_read_input_tokens,
         cost_microdollars = l.cost_microdollars + EXCLUDED.cost_microdollars,
         updated_at = now()`,
      [
        entry.tenantId,
        entry.userId,
        dayString(entry.at),
        entry.model,
        entry.department,
        whole(usage?.input_tokens),
        whole(usage?.output_tokens),
        whole(usage?.cache_creation_input_tokens),
        whole(usage?.cache_read_input_tokens),
        whole(entry.costMicrodollars),
      ],
    );
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
