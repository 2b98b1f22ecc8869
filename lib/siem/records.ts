import { v5 as uuidv5 } from 'uuid';
import type { AuditEvent, StoredCheckpoint } from '@/lib/audit';

/**
 * What a sink receives: one audit event or one signed chain checkpoint, as a plain JSON document
 * that always carries `event_id` (the receiver's de-duplication key under at-least-once delivery).
 */
export interface ForwardRecord {
  kind: 'audit_event' | 'audit_checkpoint';
  /** Position in the batch's range: chain seq for events, checkpoint number for checkpoints. */
  position: number;
  event_id: string;
  event_type: string;
  occurred_at: string;
  department: string | undefined;
  /** The document as sent (redactions applied). */
  doc: Record<string, unknown>;
}

export interface ChainedEventRow {
  seq: number;
  event: AuditEvent;
  prev_hash: Buffer;
  hash: Buffer;
}

/** A checkpoint as the forwarder reads it: the audit's stored checkpoint without when it was recorded. */
export type CheckpointRow = Omit<StoredCheckpoint, 'recorded_at'>;

// Checkpoint ids are derived, so a redelivered checkpoint carries the same event_id.
const CHECKPOINT_NAMESPACE = '5b0c3c2e-8f7a-4c8e-9a55-0c6f1b1f2d41';

export function checkpointEventId(tenantId: string, number: number): string {
  return uuidv5(`${tenantId}/checkpoint/${number}`, CHECKPOINT_NAMESPACE);
}

/** The event with its place in the tenant's hash chain, so a SIEM can re-check the chain. */
export function eventRecord(row: ChainedEventRow): ForwardRecord {
  const { event } = row;
  return {
    kind: 'audit_event',
    position: row.seq,
    event_id: event.event_id,
    event_type: event.event_type,
    occurred_at: event.occurred_at,
    department: event.actor?.department,
    doc: {
      ...event,
      integrity: { chain_id: event.tenant_id, seq: row.seq, prev_hash: row.prev_hash.toString('hex'), hash: row.hash.toString('hex'), alg: 'sha256' },
    },
  };
}

/** A signed checkpoint: the anchor a SIEM keeps outside Gatehouse's database. */
export function checkpointRecord(row: CheckpointRow): ForwardRecord {
  const eventId = checkpointEventId(row.tenant_id, row.number);
  const occurredAt = row.signed_at.toISOString();
  return {
    kind: 'audit_checkpoint',
    position: row.number,
    event_id: eventId,
    event_type: 'audit.checkpoint',
    occurred_at: occurredAt,
    department: undefined,
    doc: {
      schema_version: 1,
      event_id: eventId,
      event_type: 'audit.checkpoint',
      action: 'audit.checkpoint',
      outcome: 'success',
      occurred_at: occurredAt,
      tenant_id: row.tenant_id,
      checkpoint: {
        number: row.number,
        seq: row.seq,
        hash: row.hash.toString('hex'),
        key_id: row.key_id,
        public_key: row.public_key,
        statement: row.statement,
        signature: row.signature.toString('base64'),
      },
    },
  };
}

/** Removes each dotted path from a copy of the document. */
export function redact(doc: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  if (paths.length === 0) return doc;
  const copy = structuredClone(doc);
  for (const path of paths) {
    const parts = path.split('.');
    let node: unknown = copy;
    for (const part of parts.slice(0, -1)) {
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
    }
    if (typeof node === 'object' && node !== null) delete (node as Record<string, unknown>)[parts.at(-1)!];
  }
  return copy;
}

export interface RecordFilter {
  event_types?: readonly string[] | undefined;
  departments?: readonly string[] | undefined;
}

/** Whether the sink wants this record (checkpoints are governed by the sink's `checkpoints` flag). */
export function wanted(record: ForwardRecord, filter: RecordFilter): boolean {
  if (record.kind === 'audit_checkpoint') return true;
  if (filter.event_types && !filter.event_types.includes(record.event_type)) return false;
  if (filter.departments && (!record.department || !filter.departments.includes(record.department))) return false;
  return true;
}
