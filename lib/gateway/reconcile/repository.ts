// SQL of the gateway reconciler: which calls are still open, and how far each tenant's request
// events have been looked at.
import type { AuditEvent } from '@/lib/audit';
import { pool } from '@/lib/db/client';

/** A request event the reconciler must act on, with what closes it so far. */
export interface OpenCall {
  request: AuditEvent;
  occurredAt: Date;
  /** The call's response event, when the gateway wrote one. */
  response: AuditEvent | null;
  /** The call's ledger entry, when the gateway (or an earlier run) wrote one. */
  entry: { input_tokens: string; output_tokens: string; cache_creation_input_tokens: string; cache_read_input_tokens: string; web_search_requests: number; cost_microdollars: string; usage_estimated: boolean } | null;
}

// Held for a whole run, so two workers never close the same call twice.
const RECONCILE_LOCK = 7_410_336_001;

/** Runs `work` holding the reconciler's advisory lock; null (work not run) when another run holds it. */
export async function withReconcileLock<T>(work: () => Promise<T>): Promise<T | null> {
  const client = await pool().connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RECONCILE_LOCK]);
    if (!rows[0]?.locked) return null;
    try {
      return await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [RECONCILE_LOCK]);
    }
  } finally {
    client.release();
  }
}

export async function tenantIds(): Promise<string[]> {
  const { rows } = await pool().query<{ id: string }>('SELECT id FROM tenants ORDER BY created_at');
  return rows.map((row) => row.id);
}

function stateName(tenantId: string): string {
  return `tenant:${tenantId}`;
}

export async function reconciledUntil(tenantId: string): Promise<Date | null> {
  const { rows } = await pool().query<{ reconciled_until: Date }>('SELECT reconciled_until FROM gateway_reconcile_state WHERE name = $1', [stateName(tenantId)]);
  return rows[0]?.reconciled_until ?? null;
}

export async function setReconciledUntil(tenantId: string, until: Date): Promise<void> {
  await pool().query(
    `INSERT INTO gateway_reconcile_state (name, reconciled_until, updated_at) VALUES ($1, $2, now())
     ON CONFLICT (name) DO UPDATE SET reconciled_until = GREATEST(gateway_reconcile_state.reconciled_until, EXCLUDED.reconciled_until), updated_at = now()`,
    [stateName(tenantId), until],
  );
}

/**
 * A page of the tenant's request events in (from, until] that are not closed: no response event,
 * or a response that billed usage (gen_ai input tokens) without a ledger entry. A response
 * belongs to a request by trace id and call id; events written before call ids existed have
 * neither call id and pair by trace id alone (and are never given a ledger entry from their
 * response: their spend was added to the ledger the old way).
 */
export async function openCalls(tenantId: string, from: Date, until: Date, after: { occurredAt: Date; eventId: string } | null, limit: number): Promise<OpenCall[]> {
  const { rows } = await pool().query<{ request: AuditEvent; occurred_at: Date; response: AuditEvent | null; entry: OpenCall['entry'] }>(
    `SELECT r.event AS request, r.occurred_at, answer.event AS response,
            CASE WHEN s.call_id IS NULL THEN NULL ELSE json_build_object(
              'input_tokens', s.input_tokens::text, 'output_tokens', s.output_tokens::text,
              'cache_creation_input_tokens', s.cache_creation_input_tokens::text, 'cache_read_input_tokens', s.cache_read_input_tokens::text,
              'web_search_requests', s.web_search_requests, 'cost_microdollars', s.cost_microdollars::text, 'usage_estimated', s.usage_estimated) END AS entry
       FROM audit_events r
       LEFT JOIN LATERAL (
         SELECT e.event FROM audit_events e
          WHERE e.trace_id = r.trace_id AND e.tenant_id = r.tenant_id AND e.event_type = 'inference.response'
            AND coalesce(e.event->'attributes'->>'call_id', '') = coalesce(r.event->'attributes'->>'call_id', '')
          LIMIT 1
       ) answer ON true
       LEFT JOIN spend_entries s ON s.call_id = r.event_id
      WHERE r.tenant_id = $1 AND r.event_type = 'inference.request'
        AND r.occurred_at > $2 AND r.occurred_at <= $3
        AND ($4::timestamptz IS NULL OR (r.occurred_at, r.event_id) > ($4::timestamptz, $5::uuid))
        AND (answer.event IS NULL
             OR (s.call_id IS NULL AND r.event->'attributes' ? 'call_id' AND answer.event->'gen_ai' ? 'input_tokens'))
      ORDER BY r.occurred_at, r.event_id
      LIMIT $6`,
    [tenantId, from, until, after?.occurredAt ?? null, after?.eventId ?? null, limit],
  );
  return rows.map((row) => ({ request: row.request, occurredAt: row.occurred_at, response: row.response, entry: row.entry }));
}
