// The SQL of SIEM forwarding: the only module that reads or writes siem_sinks and siem_batches
// (and reads the audit chain for them).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AuditEvent } from '@/lib/audit';
import type { SiemConfigSink } from '@/lib/config';
import type { ChainedEventRow, CheckpointRow } from './records';

export type BatchKind = 'events' | 'checkpoints';
export type BatchStatus = 'pending' | 'delivering' | 'delivered' | 'dead';

export interface SinkRow {
  id: string;
  tenant_id: string;
  name: string;
  origin: string;
  type: string;
  definition: unknown;
  sealed_secret: string | null;
  enabled: boolean;
  event_cursor: number;
  checkpoint_cursor: number;
}

export interface ClaimedBatch {
  id: number;
  sink_id: string;
  tenant_id: string;
  kind: BatchKind;
  from_seq: number;
  to_seq: number;
  delivered_through: number;
  attempts: number;
  claim_token: string;
}

const SINK_COLUMNS = `id::text AS id, tenant_id::text AS tenant_id, name, origin, type, definition, sealed_secret, enabled,
  event_cursor::float8 AS event_cursor, checkpoint_cursor::float8 AS checkpoint_cursor`;

/**
 * Makes siem_sinks match gatehouse.yaml: each configured sink has an enabled row (a new one starts
 * at the chain head, or at the beginning with `backfill`), and config rows no longer configured
 * are disabled (their batches wait, in case the sink comes back). A dashboard sink of the same
 * name keeps its row; the clash is returned so the caller can say so.
 */
export async function syncConfigSinks(database: pg.Pool, tenantId: string, sinks: readonly SiemConfigSink[]): Promise<string[]> {
  const clashes: string[] = [];
  for (const sink of sinks) {
    const { rows } = await database.query<{ origin: string }>(
      `INSERT INTO siem_sinks (id, tenant_id, name, origin, type, definition, enabled, event_cursor, checkpoint_cursor)
       VALUES ($1, $2, $3, 'config', $4, $5, true,
         CASE WHEN $6 THEN 0 ELSE COALESCE((SELECT seq FROM audit_chain_heads WHERE tenant_id = $2), 0) END,
         CASE WHEN $6 THEN 0 ELSE COALESCE((SELECT max(number) FROM audit_checkpoints WHERE tenant_id = $2), 0) END)
       ON CONFLICT (tenant_id, name) DO UPDATE SET type = EXCLUDED.type, definition = EXCLUDED.definition, enabled = true, updated_at = now()
         WHERE siem_sinks.origin = 'config'
       RETURNING origin`,
      [randomUUID(), tenantId, sink.id, sink.type, JSON.stringify(sink), sink.backfill],
    );
    if (rows.length === 0) clashes.push(sink.id);
  }
  await database.query(
    `UPDATE siem_sinks SET enabled = false, updated_at = now() WHERE tenant_id = $1 AND origin = 'config' AND enabled AND NOT (name = ANY($2::text[]))`,
    [tenantId, sinks.map((sink) => sink.id)],
  );
  return clashes;
}

export async function listSinks(database: pg.Pool, tenantId?: string): Promise<SinkRow[]> {
  const { rows } = await database.query<SinkRow>(
    `SELECT ${SINK_COLUMNS} FROM siem_sinks WHERE ($1::uuid IS NULL OR tenant_id = $1::uuid) ORDER BY name`,
    [tenantId ?? null],
  );
  return rows;
}

export async function sinkById(database: pg.Pool, id: string): Promise<SinkRow | undefined> {
  const { rows } = await database.query<SinkRow>(`SELECT ${SINK_COLUMNS} FROM siem_sinks WHERE id = $1`, [id]);
  return rows[0];
}

export interface NewDashboardSink {
  id: string;
  tenantId: string;
  name: string;
  type: string;
  definition: unknown;
  sealedSecret: string;
  backfill: boolean;
}

/** False when a sink of that name exists already. */
export async function insertDashboardSink(database: pg.Pool, sink: NewDashboardSink): Promise<boolean> {
  const result = await database.query(
    `INSERT INTO siem_sinks (id, tenant_id, name, origin, type, definition, sealed_secret, event_cursor, checkpoint_cursor)
     VALUES ($1, $2, $3, 'dashboard', $4, $5, $6,
       CASE WHEN $7 THEN 0 ELSE COALESCE((SELECT seq FROM audit_chain_heads WHERE tenant_id = $2), 0) END,
       CASE WHEN $7 THEN 0 ELSE COALESCE((SELECT max(number) FROM audit_checkpoints WHERE tenant_id = $2), 0) END)
     ON CONFLICT (tenant_id, name) DO NOTHING`,
    [sink.id, sink.tenantId, sink.name, sink.type, JSON.stringify(sink.definition), sink.sealedSecret, sink.backfill],
  );
  return result.rowCount === 1;
}

/** Dashboard sinks only: a config sink is removed by editing gatehouse.yaml. */
export async function deleteDashboardSink(database: pg.Pool, tenantId: string, id: string): Promise<SinkRow | undefined> {
  const { rows } = await database.query<SinkRow>(`DELETE FROM siem_sinks WHERE tenant_id = $1 AND id = $2 AND origin = 'dashboard' RETURNING ${SINK_COLUMNS}`, [tenantId, id]);
  return rows[0];
}

/**
 * Cuts what the chain gained since the sink's cursors into batches of at most `batchSize`, and
 * moves the cursors, in one transaction: a range becomes a batch exactly once. The chain head is
 * read committed, and seqs commit in order under the head's row lock, so every seq up to it is
 * there. A sink another worker is cutting right now is skipped.
 */
export async function cutBatches(database: pg.Pool, sinkId: string, batchSize: number, maxBatches: number): Promise<number> {
  const client = await database.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ tenant_id: string; event_cursor: number; checkpoint_cursor: number; checkpoints: boolean; head: number; last_checkpoint: number }>(
      `SELECT s.tenant_id::text AS tenant_id, s.event_cursor::float8 AS event_cursor, s.checkpoint_cursor::float8 AS checkpoint_cursor,
         COALESCE((s.definition ->> 'checkpoints')::boolean, true) AS checkpoints,
         COALESCE((SELECT seq FROM audit_chain_heads h WHERE h.tenant_id = s.tenant_id), 0)::float8 AS head,
         COALESCE((SELECT max(number) FROM audit_checkpoints c WHERE c.tenant_id = s.tenant_id), 0)::float8 AS last_checkpoint
       FROM siem_sinks s WHERE s.id = $1 AND s.enabled FOR UPDATE OF s SKIP LOCKED`,
      [sinkId],
    );
    const sink = rows[0];
    if (!sink) {
      await client.query('ROLLBACK');
      return 0;
    }
    const ranges: [BatchKind, number, number][] = [];
    for (let from = sink.event_cursor + 1; from <= sink.head && ranges.length < maxBatches; from += batchSize) ranges.push(['events', from, Math.min(from + batchSize - 1, sink.head)]);
    const eventCursor = ranges.length > 0 ? ranges.at(-1)![2] : sink.event_cursor;
    let checkpointCursor = sink.checkpoint_cursor;
    if (sink.last_checkpoint > sink.checkpoint_cursor) {
      if (sink.checkpoints) ranges.push(['checkpoints', sink.checkpoint_cursor + 1, sink.last_checkpoint]);
      checkpointCursor = sink.last_checkpoint;
    }
    if (ranges.length > 0) {
      await client.query(
        `INSERT INTO siem_batches (sink_id, tenant_id, kind, from_seq, to_seq, delivered_through)
         SELECT $1, $2, kind, from_seq, to_seq, from_seq - 1 FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS r(kind, from_seq, to_seq)`,
        [sinkId, sink.tenant_id, ranges.map((range) => range[0]), ranges.map((range) => range[1]), ranges.map((range) => range[2])],
      );
      await client.query('UPDATE siem_sinks SET event_cursor = $2, checkpoint_cursor = $3 WHERE id = $1', [sinkId, eventCursor, checkpointCursor]);
    }
    await client.query('COMMIT');
    return ranges.length;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Claims up to `limit` batches that are due, or whose holder's lease lapsed (a worker that died
 * mid-send), for `leaseMs`. SKIP LOCKED lets any number of workers claim side by side without
 * waiting on or taking each other's batches. Each claim counts as an attempt.
 */
export async function claimBatches(database: pg.Pool, limit: number, leaseMs: number): Promise<ClaimedBatch[]> {
  const { rows } = await database.query<ClaimedBatch>(
    `WITH due AS (
       SELECT b.id FROM siem_batches b JOIN siem_sinks s ON s.id = b.sink_id AND s.enabled
       WHERE (b.status = 'pending' AND b.next_attempt_at <= now()) OR (b.status = 'delivering' AND b.lease_until < now())
       ORDER BY b.id LIMIT $1 FOR UPDATE OF b SKIP LOCKED)
     UPDATE siem_batches b SET status = 'delivering', attempts = b.attempts + 1, claim_token = $2::uuid,
       lease_until = now() + make_interval(secs => $3::float8 / 1000)
     FROM due WHERE b.id = due.id
     RETURNING b.id::float8 AS id, b.sink_id::text AS sink_id, b.tenant_id::text AS tenant_id, b.kind, b.from_seq::float8 AS from_seq,
       b.to_seq::float8 AS to_seq, b.delivered_through::float8 AS delivered_through, b.attempts, b.claim_token::text AS claim_token`,
    [limit, randomUUID(), leaseMs],
  );
  return rows;
}

/** Records acknowledged progress; false when the claim was lost (lease lapsed and taken over). */
export async function markProgress(database: pg.Pool, batch: ClaimedBatch, deliveredThrough: number, leaseMs: number): Promise<boolean> {
  const result = await database.query(
    `UPDATE siem_batches SET delivered_through = GREATEST(delivered_through, $3), lease_until = now() + make_interval(secs => $4::float8 / 1000)
     WHERE id = $1 AND claim_token = $2`,
    [batch.id, batch.claim_token, deliveredThrough, leaseMs],
  );
  return result.rowCount === 1;
}

export async function markDelivered(database: pg.Pool, batch: ClaimedBatch): Promise<boolean> {
  const result = await database.query(
    `UPDATE siem_batches SET status = 'delivered', delivered_through = to_seq, delivered_at = now(), claim_token = NULL, lease_until = NULL, last_error = NULL
     WHERE id = $1 AND claim_token = $2`,
    [batch.id, batch.claim_token],
  );
  return result.rowCount === 1;
}

/** Back to pending after `delayMs`, or dead when `dead`. */
export async function markFailed(database: pg.Pool, batch: ClaimedBatch, error: string, delayMs: number, dead: boolean): Promise<boolean> {
  const result = await database.query(
    `UPDATE siem_batches SET status = $3, next_attempt_at = now() + make_interval(secs => $4::float8 / 1000), last_error = $5,
       claim_token = NULL, lease_until = NULL
     WHERE id = $1 AND claim_token = $2`,
    [batch.id, batch.claim_token, dead ? 'dead' : 'pending', delayMs, error.slice(0, 2000)],
  );
  return result.rowCount === 1;
}

export async function readEvents(database: pg.Pool, tenantId: string, afterSeq: number, toSeq: number): Promise<ChainedEventRow[]> {
  const { rows } = await database.query<{ seq: number; event: AuditEvent; prev_hash: Buffer; hash: Buffer }>(
    `SELECT seq::float8 AS seq, event, prev_hash, hash FROM audit_events WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`,
    [tenantId, afterSeq, toSeq],
  );
  return rows;
}

export async function readCheckpoints(database: pg.Pool, tenantId: string, afterNumber: number, toNumber: number): Promise<CheckpointRow[]> {
  const { rows } = await database.query<CheckpointRow>(
    `SELECT tenant_id::text AS tenant_id, number::float8 AS number, seq::float8 AS seq, hash, signed_at, key_id, public_key, statement, signature
     FROM audit_checkpoints WHERE tenant_id = $1 AND number > $2 AND number <= $3 ORDER BY number`,
    [tenantId, afterNumber, toNumber],
  );
  return rows;
}

/** Dead letters back to pending, resuming after what was acknowledged. */
export async function retryDeadBatches(database: pg.Pool, tenantId: string, sinkId: string): Promise<number> {
  const result = await database.query(
    `UPDATE siem_batches SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL
     WHERE tenant_id = $1 AND sink_id = $2 AND status = 'dead'`,
    [tenantId, sinkId],
  );
  return result.rowCount ?? 0;
}

/**
 * New batches re-sending every event recorded since `since` up to the sink's cursor (and the
 * checkpoints signed since then): receivers de-duplicate by event_id.
 */
export async function replaySince(database: pg.Pool, tenantId: string, sinkId: string, since: Date, batchSize: number): Promise<{ batches: number; events: number }> {
  const { rows } = await database.query<{ first: number | null; cursor: number; first_checkpoint: number | null; checkpoint_cursor: number }>(
    `SELECT (SELECT min(seq) FROM audit_events WHERE tenant_id = s.tenant_id AND occurred_at >= $3)::float8 AS first,
       s.event_cursor::float8 AS cursor,
       (SELECT min(number) FROM audit_checkpoints WHERE tenant_id = s.tenant_id AND signed_at >= $3)::float8 AS first_checkpoint,
       s.checkpoint_cursor::float8 AS checkpoint_cursor
     FROM siem_sinks s WHERE s.tenant_id = $1 AND s.id = $2`,
    [tenantId, sinkId, since],
  );
  const sink = rows[0];
  if (!sink) return { batches: 0, events: 0 };
  const ranges: [BatchKind, number, number][] = [];
  if (sink.first !== null) for (let from = sink.first; from <= sink.cursor; from += batchSize) ranges.push(['events', from, Math.min(from + batchSize - 1, sink.cursor)]);
  if (sink.first_checkpoint !== null && sink.first_checkpoint <= sink.checkpoint_cursor) ranges.push(['checkpoints', sink.first_checkpoint, sink.checkpoint_cursor]);
  if (ranges.length > 0) {
    await database.query(
      `INSERT INTO siem_batches (sink_id, tenant_id, kind, from_seq, to_seq, delivered_through, replay)
       SELECT $1, $2, kind, from_seq, to_seq, from_seq - 1, true FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS r(kind, from_seq, to_seq)`,
      [sinkId, tenantId, ranges.map((range) => range[0]), ranges.map((range) => range[1]), ranges.map((range) => range[2])],
    );
  }
  const events = sink.first === null ? 0 : Math.max(0, sink.cursor - sink.first + 1);
  return { batches: ranges.length, events };
}

/** Delivered batches older than `days` are history nobody needs; dead ones stay until retried. */
export async function pruneDelivered(database: pg.Pool, days: number): Promise<number> {
  const result = await database.query(`DELETE FROM siem_batches WHERE status = 'delivered' AND delivered_at < now() - make_interval(days => $1)`, [days]);
  return result.rowCount ?? 0;
}

export interface SinkHealth {
  id: string;
  name: string;
  origin: string;
  type: string;
  enabled: boolean;
  definition: unknown;
  /** Chain events recorded but not yet acknowledged by the sink (filtered-out ones included). */
  lag_events: number;
  /** When the oldest event not yet acknowledged was recorded. */
  oldest_pending_at: Date | null;
  pending_batches: number;
  retrying_batches: number;
  dead_batches: number;
  dead_events: number;
  delivered_batches: number;
  last_delivered_at: Date | null;
  last_error: string | null;
}

/** Per sink of a tenant: lag, failures and dead letters, for the dashboard. */
export async function sinkHealth(database: pg.Pool, tenantId: string): Promise<SinkHealth[]> {
  const { rows } = await database.query<SinkHealth & { first_pending_seq: number | null }>(
    `WITH stats AS (
       SELECT b.sink_id,
         count(*) FILTER (WHERE b.status IN ('pending', 'delivering'))::int AS pending_batches,
         count(*) FILTER (WHERE b.status IN ('pending', 'delivering') AND b.attempts > 0)::int AS retrying_batches,
         count(*) FILTER (WHERE b.status = 'dead')::int AS dead_batches,
         COALESCE(sum(b.to_seq - b.delivered_through) FILTER (WHERE b.status = 'dead' AND b.kind = 'events'), 0)::float8 AS dead_events,
         count(*) FILTER (WHERE b.status = 'delivered')::int AS delivered_batches,
         COALESCE(sum(b.to_seq - b.delivered_through) FILTER (WHERE b.status <> 'delivered' AND b.kind = 'events' AND NOT b.replay), 0)::float8 AS pending_events,
         min(b.delivered_through + 1) FILTER (WHERE b.status <> 'delivered' AND b.kind = 'events' AND NOT b.replay)::float8 AS first_pending_seq,
         max(b.delivered_at) AS last_delivered_at
       FROM siem_batches b JOIN siem_sinks s ON s.id = b.sink_id WHERE s.tenant_id = $1 GROUP BY b.sink_id),
     errors AS (
       SELECT DISTINCT ON (b.sink_id) b.sink_id, b.last_error FROM siem_batches b
       WHERE b.tenant_id = $1 AND b.last_error IS NOT NULL AND b.status <> 'delivered' ORDER BY b.sink_id, b.id DESC)
     SELECT s.id::text AS id, s.name, s.origin, s.type, s.enabled, s.definition,
       (COALESCE(h.seq, 0) - s.event_cursor + COALESCE(st.pending_events, 0))::float8 AS lag_events,
       COALESCE(st.first_pending_seq, CASE WHEN COALESCE(h.seq, 0) > s.event_cursor THEN s.event_cursor + 1 END)::float8 AS first_pending_seq,
       COALESCE(st.pending_batches, 0) AS pending_batches, COALESCE(st.retrying_batches, 0) AS retrying_batches,
       COALESCE(st.dead_batches, 0) AS dead_batches, COALESCE(st.dead_events, 0) AS dead_events,
       COALESCE(st.delivered_batches, 0) AS delivered_batches, st.last_delivered_at, e.last_error
     FROM siem_sinks s LEFT JOIN audit_chain_heads h ON h.tenant_id = s.tenant_id
       LEFT JOIN stats st ON st.sink_id = s.id LEFT JOIN errors e ON e.sink_id = s.id
     WHERE s.tenant_id = $1 ORDER BY s.name`,
    [tenantId],
  );
  const firstSeqs = rows.map((row) => row.first_pending_seq).filter((seq): seq is number => seq !== null);
  const times = new Map<number, Date>();
  if (firstSeqs.length > 0) {
    const found = await database.query<{ seq: number; occurred_at: Date }>(
      'SELECT seq::float8 AS seq, occurred_at FROM audit_events WHERE tenant_id = $1 AND seq = ANY($2::bigint[])',
      [tenantId, firstSeqs],
    );
    for (const row of found.rows) times.set(row.seq, row.occurred_at);
  }
  return rows.map(({ first_pending_seq: first, ...row }) => ({ ...row, oldest_pending_at: first === null ? null : (times.get(first) ?? null) }));
}
