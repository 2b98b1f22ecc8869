import { AUDIT_EVENT_TYPES, type AuditEventType } from '@/lib/audit';
import { pool } from '@/lib/db/client';

export const AUDIT_LOG_PAGE_SIZE = 100;

/** One row of the audit table, serialisable for the client component. */
export interface AuditLogRow {
  eventId: string;
  seq: string;
  occurredAt: string;
  eventType: string;
  action: string;
  outcome: string;
  actor: string | null;
  traceId: string;
}

/** A `type` query-string value → a known event type, or undefined (show everything). */
export function parseEventTypeFilter(value: string | string[] | undefined): AuditEventType | undefined {
  const candidate = Array.isArray(value) ? value[0] : value;
  return (AUDIT_EVENT_TYPES as readonly string[]).includes(candidate ?? '') ? (candidate as AuditEventType) : undefined;
}

interface AuditRow {
  event_id: string;
  seq: string;
  occurred_at: Date;
  event_type: string;
  action: string;
  outcome: string;
  actor: string | null;
  trace_id: string;
}

/** The tenant's latest events, newest first, optionally of one type. */
export async function latestAuditEvents(tenantId: string, eventType?: AuditEventType, limit = AUDIT_LOG_PAGE_SIZE): Promise<AuditLogRow[]> {
  const result = await pool().query<AuditRow>(
    `SELECT event_id, seq::text AS seq, occurred_at, event_type, action, outcome, trace_id,
            coalesce(event->'actor'->>'email', event->'actor'->>'user_id', event->>'call_source') AS actor
       FROM audit_events
      WHERE tenant_id = $1 AND ($2::text IS NULL OR event_type = $2)
      ORDER BY occurred_at DESC, seq DESC
      LIMIT $3`,
    [tenantId, eventType ?? null, limit],
  );
  return result.rows.map((row) => ({
    eventId: row.event_id,
    seq: row.seq,
    occurredAt: row.occurred_at.toISOString(),
    eventType: row.event_type,
    action: row.action,
    outcome: row.outcome,
    actor: row.actor,
    traceId: row.trace_id,
  }));
}
