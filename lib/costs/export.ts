import type pg from 'pg';
import { pool } from '@/lib/db/client';
import { csvLine } from '@/lib/platform/csv';
import { microdollarsToUsd } from './money';
import type { CostQuery } from './query';
import { costRow, seriesStatement, userLabels, type CostRow, type UserLabel } from './repository';

/** Rows fetched from the cursor at a time: memory stays bounded however long the range. */
const FETCH_ROWS = 500;

export const COST_CSV_COLUMNS = [
  'period_start',
  'interval',
  'group_by',
  'key',
  'label',
  'requests',
  'estimated_requests',
  'input_tokens',
  'output_tokens',
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
  'cost_usd',
] as const;

function line(query: CostQuery, row: CostRow, labels: Map<string, UserLabel>): string {
  const label = query.groupBy === 'user' ? (labels.get(row.key)?.email ?? '(removed user)') : row.key === '' && query.groupBy !== 'none' ? '(none)' : row.key;
  return csvLine([
    row.period,
    query.interval,
    query.groupBy,
    row.key,
    label,
    row.requests,
    row.estimatedRequests,
    row.inputTokens,
    row.outputTokens,
    row.cacheCreationInputTokens,
    row.cacheReadInputTokens,
    microdollarsToUsd(row.costMicrodollars),
  ]);
}

/**
 * The view as CSV, streamed from a server-side cursor FETCH_ROWS rows at a time, so a two-year
 * range grouped by user never sits in memory whole. The cursor's transaction is closed when the
 * stream ends or the client goes away.
 */
export function costCsvStream(tenantId: string, query: CostQuery): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const statement = seriesStatement(tenantId, query);
  let client: pg.PoolClient | null = null as pg.PoolClient | null;
  const finish = async (commit: boolean) => {
    const held = client;
    client = null;
    if (!held) return;
    try {
      await held.query(commit ? 'COMMIT' : 'ROLLBACK');
    } finally {
      held.release();
    }
  };
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const connected = await pool().connect();
      client = connected;
      try {
        await connected.query('BEGIN READ ONLY');
        await connected.query(`DECLARE cost_export NO SCROLL CURSOR FOR ${statement.text}`, statement.values);
      } catch (error) {
        await finish(false).catch(() => undefined);
        throw error;
      }
      controller.enqueue(encoder.encode(csvLine(COST_CSV_COLUMNS)));
    },
    async pull(controller) {
      if (!client) return;
      try {
        const { rows } = await client.query<Parameters<typeof costRow>[0]>(`FETCH ${FETCH_ROWS} FROM cost_export`);
        if (!rows.length) {
          await finish(true);
          controller.close();
          return;
        }
        const batch = rows.map(costRow);
        const labels = query.groupBy === 'user' ? await userLabels([...new Set(batch.map((row) => row.key))]) : new Map<string, UserLabel>();
        controller.enqueue(encoder.encode(batch.map((row) => line(query, row, labels)).join('')));
      } catch (error) {
        await finish(false).catch(() => undefined);
        controller.error(error);
      }
    },
    async cancel() {
      await finish(false).catch(() => undefined);
    },
  });
}

/** `gatehouse-costs_2026-11-01_2026-11-30_by-model_day.csv` */
export function costCsvFilename(query: CostQuery): string {
  return `gatehouse-costs_${query.from}_${query.to}_by-${query.groupBy}_${query.interval}.csv`;
}
