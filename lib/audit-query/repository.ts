// Every SQL statement that reads audit events for people: the explorer, its drawer and trace
// view, the policy page's counts and history, `gatehouse audit query` and `gatehouse audit
// export`. The filters of filters.ts become one WHERE clause here (whereClause), so each of those
// sees the same rows for the same filters.
import type { AuditEvent } from '@/lib/audit';
import type { Queryable } from '@/lib/audit/queryable';
import { pool } from '@/lib/db/client';
import { type Cursor } from './cursor';
import type { AuditFilters } from './filters';

/** One row of the explorer, the CLI table and the CSV: the event's searchable fields, flat. */
export interface AuditRow {
  occurredAt: string;
  eventId: string;
  eventType: string;
  action: string;
  outcome: string;
  /** E-mail, else user id, else the call source (`system`, `cli`). */
  actor: string | null;
  department: string | null;
  model: string | null;
  upstream: string | null;
  decision: string | null;
  rule: string | null;
  /** Integer microdollars as a decimal string (bigint does not cross JSON). */
  costMicrodollars: string | null;
  traceId: string;
}

export type Order = 'newest' | 'oldest';

interface RowRecord {
  occurred_at: Date;
  event_id: string;
  event_type: string;
  action: string;
  outcome: string;
  actor: string | null;
  department: string | null;
  model: string | null;
  upstream: string | null;
  decision: string | null;
  rule: string | null;
  cost_microdollars: string | null;
  trace_id: string;
}

const ROW_COLUMNS = `occurred_at, event_id::text AS event_id, event_type, action, outcome, trace_id,
  coalesce(event->'actor'->>'email', actor_user_id::text, event->>'call_source') AS actor,
  event->'actor'->>'department' AS department,
  event->'gen_ai'->>'request_model' AS model,
  event->'attributes'->>'upstream' AS upstream,
  event->'policy'->>'decision' AS decision,
  event->'policy'->>'rule' AS rule,
  cost_microdollars::text AS cost_microdollars`;

function toRow(record: RowRecord): AuditRow {
  return {
    occurredAt: record.occurred_at.toISOString(),
    eventId: record.event_id,
    eventType: record.event_type,
    action: record.action,
    outcome: record.outcome,
    actor: record.actor,
    department: record.department,
    model: record.model,
    upstream: record.upstream,
    decision: record.decision,
    rule: record.rule,
    costMicrodollars: record.cost_microdollars,
    traceId: record.trace_id,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function likePrefix(value: string): string {
  return `${value.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * The filters as SQL over audit_events (no alias), `$1` being the tenant. Each condition has an
 * index ending in occurred_at (migration 20261201100000_audit_explorer_indexes).
 */
export function whereClause(tenantId: string, filters: AuditFilters): { sql: string; values: unknown[] } {
  const values: unknown[] = [tenantId, filters.from, filters.to];
  const conditions = ['tenant_id = $1', 'occurred_at >= $2', 'occurred_at < $3'];
  const bind = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filters.user) {
    conditions.push(
      UUID.test(filters.user)
        ? `actor_user_id = ${bind(filters.user.toLowerCase())}::uuid`
        : `actor_user_id = (SELECT id FROM users WHERE tenant_id = $1 AND lower(email) = lower(${bind(filters.user)}))`,
    );
  }
  if (filters.department) conditions.push(`event->'actor'->>'department' = ${bind(filters.department)}`);
  if (filters.model) conditions.push(`event->'gen_ai'->>'request_model' = ${bind(filters.model)}`);
  if (filters.upstream) conditions.push(`event->'attributes'->>'upstream' = ${bind(filters.upstream)}`);
  if (filters.type) conditions.push(`event_type = ${bind(filters.type)}`);
  if (filters.outcome) conditions.push(`outcome = ${bind(filters.outcome)}`);
  if (filters.rule) {
    conditions.push(
      filters.rule.endsWith('*')
        ? `lower(event->'policy'->>'rule') LIKE ${bind(likePrefix(filters.rule.slice(0, -1)))}`
        : `event->'policy'->>'rule' = ${bind(filters.rule)}`,
    );
  }
  if (filters.trace) conditions.push(`trace_id = ${bind(filters.trace)}`);
  if (filters.q) {
    const exact = bind(filters.q);
    const prefix = bind(likePrefix(filters.q));
    conditions.push(`(event_id::text = lower(${exact}) OR trace_id = lower(${exact}) OR session_id = ${exact}
      OR event->'attributes'->>'call_id' = ${exact}
      OR lower(action) LIKE ${prefix} OR lower(event->'policy'->>'rule') LIKE ${prefix}
      OR lower(event->'gen_ai'->>'request_model') LIKE ${prefix} OR lower(event->'attributes'->>'upstream') LIKE ${prefix}
      OR lower(event->'actor'->>'email') LIKE ${prefix})`);
  }
  return { sql: conditions.join(' AND '), values };
}

export interface PageRequest {
  filters: AuditFilters;
  /** Rows after this one in `order`; absent for the first page. */
  after?: Cursor | null;
  limit: number;
  order?: Order;
}

/** One keyset page: `limit` rows at most, plus whether more follow. */
export async function auditPage(tenantId: string, request: PageRequest, database: Queryable = pool()): Promise<{ rows: AuditRow[]; more: boolean }> {
  const rows = await selectRows<RowRecord>(tenantId, request, ROW_COLUMNS, request.limit + 1, database);
  return { rows: rows.slice(0, request.limit).map(toRow), more: rows.length > request.limit };
}

async function selectRows<T>(tenantId: string, request: PageRequest, columns: string, limit: number, database: Queryable): Promise<T[]> {
  const where = whereClause(tenantId, request.filters);
  const newest = (request.order ?? 'newest') === 'newest';
  let keyset = '';
  if (request.after) {
    where.values.push(request.after.occurredAt, request.after.eventId);
    const at = where.values.length;
    keyset = ` AND (occurred_at, event_id) ${newest ? '<' : '>'} ($${at - 1}::timestamptz, $${at}::uuid)`;
  }
  where.values.push(limit);
  const direction = newest ? 'DESC' : 'ASC';
  const { rows } = await database.query<T & object>(
    `SELECT ${columns} FROM audit_events WHERE ${where.sql}${keyset}
     ORDER BY occurred_at ${direction}, event_id ${direction} LIMIT $${where.values.length}`,
    where.values,
  );
  return rows;
}

/** How many events match: for the export's progress bar. */
export async function countAuditEvents(tenantId: string, filters: AuditFilters, database: Queryable = pool()): Promise<number> {
  const where = whereClause(tenantId, filters);
  const { rows } = await database.query<{ count: string }>(`SELECT count(*)::text AS count FROM audit_events WHERE ${where.sql}`, where.values);
  return Number(rows[0]?.count ?? 0);
}

export interface StreamedEvent {
  row: AuditRow;
  event: AuditEvent;
}

/**
 * Every matching event, oldest first, fetched `batchSize` at a time by keyset: memory holds one
 * batch whatever the range, and each batch is a short index range scan (no long transaction or
 * cursor holding a snapshot while a slow consumer writes a file).
 */
export async function* streamAuditEvents(tenantId: string, filters: AuditFilters, options: { batchSize?: number; database?: Queryable } = {}): AsyncGenerator<StreamedEvent> {
  const batchSize = options.batchSize ?? 1_000;
  const database = options.database ?? pool();
  let after: Cursor | null = null;
  for (;;) {
    const batch: (RowRecord & { event: AuditEvent })[] = await selectRows<RowRecord & { event: AuditEvent }>(
      tenantId,
      { filters, after, limit: batchSize, order: 'oldest' },
      `${ROW_COLUMNS}, event`,
      batchSize,
      database,
    );
    for (const record of batch) yield { row: toRow(record), event: record.event };
    const last = batch.at(-1);
    if (!last || batch.length < batchSize) return;
    after = { occurredAt: last.occurred_at, eventId: last.event_id };
  }
}

export interface StoredEventDetail {
  row: AuditRow;
  event: AuditEvent;
  seq: string;
  recordedAt: string;
  hash: string;
}

/** One event of the tenant by id, with its place in the chain; null when unknown. */
export async function loadAuditEventDetail(tenantId: string, eventId: string, database: Queryable = pool()): Promise<StoredEventDetail | null> {
  if (!UUID.test(eventId)) return null;
  const { rows } = await database.query<RowRecord & { event: AuditEvent; seq: string; recorded_at: Date; hash: string }>(
    `SELECT ${ROW_COLUMNS}, event, seq::text AS seq, recorded_at, encode(hash, 'hex') AS hash
       FROM audit_events WHERE tenant_id = $1 AND event_id = $2::uuid LIMIT 1`,
    [tenantId, eventId.toLowerCase()],
  );
  const record = rows[0];
  if (!record) return null;
  return { row: toRow(record), event: record.event, seq: record.seq, recordedAt: record.recorded_at.toISOString(), hash: record.hash };
}

/** One event of a trace, with the ledger entry of its call when it is the call's request. */
export interface LineageEntry {
  row: AuditRow;
  event: AuditEvent;
  ledger: { costMicrodollars: string; outcome: string; recordedBy: string; usageEstimated: boolean } | null;
}

/**
 * A trace's lineage in one statement: its events in chain order, each inference.request joined to
 * the spend_entries row of its call (call_id is the request's event_id). README "The lineage query".
 */
export const LINEAGE_SQL = `SELECT e.occurred_at, e.event_id::text AS event_id, e.event_type, e.action, e.outcome, e.trace_id,
       coalesce(e.event->'actor'->>'email', e.actor_user_id::text, e.event->>'call_source') AS actor,
       e.event->'actor'->>'department' AS department, e.event->'gen_ai'->>'request_model' AS model,
       e.event->'attributes'->>'upstream' AS upstream, e.event->'policy'->>'decision' AS decision,
       e.event->'policy'->>'rule' AS rule, e.cost_microdollars::text AS cost_microdollars, e.event,
       s.cost_microdollars::text AS ledger_cost, s.outcome AS ledger_outcome, s.recorded_by, s.usage_estimated
  FROM audit_events e
  LEFT JOIN spend_entries s ON s.call_id = e.event_id AND s.tenant_id = e.tenant_id
 WHERE e.tenant_id = $1 AND e.trace_id = $2
 ORDER BY e.occurred_at, e.seq
 LIMIT 2000`;

export async function traceLineage(tenantId: string, traceId: string, database: Queryable = pool()): Promise<LineageEntry[]> {
  if (!/^[0-9a-f]{32}$/.test(traceId)) return [];
  const { rows } = await database.query<
    RowRecord & { event: AuditEvent; ledger_cost: string | null; ledger_outcome: string | null; recorded_by: string | null; usage_estimated: boolean | null }
  >(LINEAGE_SQL, [tenantId, traceId]);
  return rows.map((record) => ({
    row: toRow(record),
    event: record.event,
    ledger:
      record.ledger_cost === null
        ? null
        : { costMicrodollars: record.ledger_cost, outcome: record.ledger_outcome ?? 'unknown', recordedBy: record.recorded_by ?? 'gateway', usageEstimated: record.usage_estimated ?? false },
  }));
}

export interface RuleCount {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  rule: string;
  decision: string;
  /** Requests, counting each aggregated event's `count`. */
  requests: number;
}

/** Blocked and redacted requests per rule and UTC day, over [from, to). */
export async function policyRuleCounts(tenantId: string, from: Date, to: Date, database: Queryable = pool()): Promise<RuleCount[]> {
  const { rows } = await database.query<{ day: string; rule: string; decision: string; requests: string }>(
    `SELECT to_char(date_trunc('day', occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
            event->'policy'->>'rule' AS rule, event->'policy'->>'decision' AS decision,
            sum(CASE WHEN event->'attributes'->>'count' ~ '^[0-9]{1,9}$' THEN (event->'attributes'->>'count')::int ELSE 1 END)::text AS requests
       FROM audit_events
      WHERE tenant_id = $1 AND event_type = 'policy.decision' AND occurred_at >= $2 AND occurred_at < $3
        AND event->'policy'->>'decision' IN ('block', 'redact') AND event->'policy'->>'rule' IS NOT NULL
      GROUP BY 1, 2, 3
      ORDER BY 1, 2`,
    [tenantId, from, to],
  );
  return rows.map((row) => ({ day: row.day, rule: row.rule, decision: row.decision, requests: Number(row.requests) }));
}

export interface ReloadRecord {
  row: AuditRow;
  event: AuditEvent;
}

/** The latest `config.reload` events, newest first: the policy's version history. */
export async function configReloads(tenantId: string, limit = 50, database: Queryable = pool()): Promise<ReloadRecord[]> {
  const { rows } = await database.query<RowRecord & { event: AuditEvent }>(
    `SELECT ${ROW_COLUMNS}, event FROM audit_events
      WHERE tenant_id = $1 AND event_type = 'config.reload'
      ORDER BY occurred_at DESC, event_id DESC LIMIT $2`,
    [tenantId, limit],
  );
  return rows.map((record) => ({ row: toRow(record), event: record.event }));
}

/** The content ref of the configuration stored for `policyVersion` by a reload, if any. */
export async function storedConfigRef(tenantId: string, policyVersion: string, database: Queryable = pool()): Promise<string | null> {
  const { rows } = await database.query<{ sha256: string | null }>(
    `SELECT CASE WHEN event->'attributes'->>'policy_version' = $2 THEN event->'content_refs'->1->>'sha256'
                 ELSE event->'content_refs'->0->>'sha256' END AS sha256
       FROM audit_events
      WHERE tenant_id = $1 AND event_type = 'config.reload' AND outcome = 'success'
        AND (event->'attributes'->>'policy_version' = $2 OR event->'attributes'->>'previous_policy_version' = $2)
        AND jsonb_array_length(coalesce(event->'content_refs', '[]'::jsonb)) = 2
      ORDER BY occurred_at DESC LIMIT 1`,
    [tenantId, policyVersion],
  );
  return rows[0]?.sha256 ?? null;
}
