import { chainHash, GENESIS_HASH } from './canonical';
import { checkpointTenants } from './checkpoint-store';
import { verifyCheckpoints, type CheckpointReport, type CheckpointTrust } from './checkpoint-verify';
import type { AuditEvent } from './event';
import type { Queryable } from './queryable';

export interface ChainBreak {
  seq: number;
  /** The event where the chain stops holding; null when the break is after the last event. */
  event_id: string | null;
  occurred_at: string | null;
  reason: string;
}

export interface ChainReport {
  tenant_id: string;
  /** Events checked (up to the break, if any). */
  events: number;
  last_seq: number;
  ok: boolean;
  break?: ChainBreak;
  /** Only when verifying against checkpoints: what they say about this chain. */
  checkpoints?: CheckpointReport;
}

export interface VerifyReport {
  ok: boolean;
  chains: ChainReport[];
}

export interface VerifyOptions {
  tenantId?: string;
  /** Rows read per query; memory stays bounded by one page however long the chain is. */
  pageSize?: number;
  /**
   * Also check each chain against its signed checkpoints, trusting only these keys. This is what
   * catches a rewrite whose hashes were all recomputed, which plain verification cannot.
   */
  checkpoints?: CheckpointTrust;
}

interface EventRow {
  seq: string;
  event_id: string;
  occurred_at: Date;
  tenant_id: string;
  schema_version: number;
  event_type: string;
  action: string;
  outcome: string;
  trace_id: string;
  session_id: string | null;
  actor_user_id: string | null;
  cost_microdollars: string | null;
  event: Record<string, unknown>;
  prev_hash: Buffer;
  hash: Buffer;
}

// bigint and uuid arrive as strings from node-pg; no casts here, so ORDER BY sorts the real types.
const EVENT_COLUMNS = `seq, event_id, occurred_at, tenant_id, schema_version, event_type, action, outcome, trace_id,
  session_id, actor_user_id, cost_microdollars, event, prev_hash, hash`;

// The walk resumes after (seq, event_id). A whole chain starts before any row at seq 0 (there
// should be none: one is reported); a segment starts after every row at its starting seq.
const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const MAX_UUID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/**
 * Re-walks every tenant chain (or one) by seq and recomputes each hash, reporting the first place
 * per chain where the stored rows stop being exactly what the writer committed.
 */
export async function verifyAuditChains(database: Queryable, options: VerifyOptions = {}): Promise<VerifyReport> {
  const pageSize = options.pageSize ?? 500;
  const tenants = options.tenantId ? [options.tenantId.toLowerCase()] : await chainTenants(database, options.checkpoints !== undefined);
  const chains: ChainReport[] = [];
  for (const tenantId of tenants) {
    const chain = await verifyChain(database, tenantId, pageSize);
    if (options.checkpoints) chain.checkpoints = await verifyCheckpoints(database, tenantId, options.checkpoints);
    chains.push(chain);
  }
  return { ok: chains.every((chain) => chain.ok && (chain.checkpoints?.ok ?? true)), chains };
}

async function chainTenants(database: Queryable, withCheckpoints: boolean): Promise<string[]> {
  // Events without a head row are a break too, so tenants come from both tables; and a chain
  // deleted outright still has its checkpoints.
  const { rows } = await database.query<{ tenant_id: string }>(
    `SELECT tenant_id::text AS tenant_id FROM audit_chain_heads
     UNION SELECT DISTINCT tenant_id::text FROM audit_events
     ORDER BY 1`,
  );
  const tenants = rows.map((row) => row.tenant_id);
  if (!withCheckpoints) return tenants;
  return [...new Set([...tenants, ...(await checkpointTenants(database))])].sort();
}

/** Where a walk starts: after `seq`, whose hash is `hash` (seq 0 and the genesis hash for a whole chain). */
export interface ChainPoint {
  seq: number;
  hash: Buffer;
}

interface Walk {
  events: number;
  last: ChainPoint;
  lastRow?: EventRow;
  break?: ChainBreak;
}

/**
 * Re-walks the chain from `from` up to `toSeq` (or its end), recomputing each hash and checking
 * each link, and stops at the first break. Memory stays bounded by one page.
 */
async function walkChain(database: Queryable, tenantId: string, from: ChainPoint, toSeq: number | null, pageSize: number): Promise<Walk> {
  const walk: Walk = { events: 0, last: { ...from } };
  let cursor = { seq: String(from.seq), eventId: from.seq === 0 ? NIL_UUID : MAX_UUID };
  for (;;) {
    const { rows } = await database.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events
       WHERE tenant_id = $1 AND (seq, event_id) > ($2::bigint, $3::uuid) AND ($4::bigint IS NULL OR seq <= $4::bigint)
       ORDER BY seq, event_id LIMIT $5`,
      [tenantId, cursor.seq, cursor.eventId, toSeq, pageSize],
    );
    for (const row of rows) {
      const seq = Number(row.seq);
      const reason = linkProblem(row, seq, walk.last.seq, walk.last.hash, walk.lastRow) ?? contentProblem(row, seq);
      if (reason) return { ...walk, break: { seq, event_id: row.event_id, occurred_at: row.occurred_at.toISOString(), reason } };
      walk.events += 1;
      walk.last = { seq, hash: row.hash };
      walk.lastRow = row;
    }
    if (rows.length < pageSize) return walk;
    const last = rows[rows.length - 1]!;
    cursor = { seq: last.seq, eventId: last.event_id };
  }
}

/**
 * Whether the chain runs intact from `from` (a point already trusted, such as the last signed
 * checkpoint) to exactly `to`: every event in between links to the one before and hashes to its
 * stored hash, and the event at `to.seq` has `to.hash`. The break found, or undefined.
 */
export async function verifyChainSegment(database: Queryable, tenantId: string, from: ChainPoint, to: ChainPoint, pageSize = 500): Promise<ChainBreak | undefined> {
  const walk = await walkChain(database, tenantId, from, to.seq, pageSize);
  if (walk.break) return walk.break;
  const where = { event_id: walk.lastRow?.event_id ?? null, occurred_at: walk.lastRow?.occurred_at.toISOString() ?? null };
  if (walk.last.seq !== to.seq) return { seq: walk.last.seq + 1, event_id: null, occurred_at: null, reason: `missing events: the chain ends at seq ${walk.last.seq}, before seq ${to.seq}` };
  if (!walk.last.hash.equals(to.hash)) return { seq: to.seq, ...where, reason: `hash of seq ${to.seq} differs from the expected one` };
  return undefined;
}

async function verifyChain(database: Queryable, tenantId: string, pageSize: number): Promise<ChainReport> {
  // The head is read first and the walk stops at its seq: events committed meanwhile belong to a
  // later head and are not mistaken for a mismatch. Head and events commit together, so every
  // event up to this head is already visible.
  const headResult = await database.query<{ seq: string; hash: Buffer | null }>(
    'SELECT seq::text AS seq, hash FROM audit_chain_heads WHERE tenant_id = $1',
    [tenantId],
  );
  const headRow = headResult.rows[0];
  const head = headRow ? { seq: Number(headRow.seq), hash: headRow.hash ?? GENESIS_HASH } : undefined;

  const walk = await walkChain(database, tenantId, { seq: 0, hash: GENESIS_HASH }, head ? head.seq : null, pageSize);
  const report: ChainReport = { tenant_id: tenantId, events: walk.events, last_seq: walk.last.seq, ok: true };
  const fail = (found: ChainBreak): ChainReport => ({ ...report, ok: false, break: found });
  if (walk.break) return fail(walk.break);
  const lastRow = walk.lastRow;

  if (!head) {
    return report.events === 0
      ? report
      : fail({ seq: report.last_seq, event_id: lastRow?.event_id ?? null, occurred_at: lastRow?.occurred_at.toISOString() ?? null, reason: 'chain head missing: events exist but the tenant has no chain head row' });
  }
  if (report.last_seq !== head.seq) {
    return fail({
      seq: report.last_seq + 1,
      event_id: null,
      occurred_at: null,
      reason: `head mismatch: chain head is at seq ${head.seq} but the last event is seq ${report.last_seq} (truncated tail)`,
    });
  }
  if (!head.hash.equals(walk.last.hash)) {
    return fail({
      seq: head.seq,
      event_id: lastRow?.event_id ?? null,
      occurred_at: lastRow?.occurred_at.toISOString() ?? null,
      reason: `head mismatch: chain head hash differs from the hash of seq ${head.seq}`,
    });
  }
  const beyond = await eventBeyondHead(database, tenantId);
  if (beyond) return fail(beyond);
  return report;
}

/** Rows the writer would never produce: a seq past the head, seen in one snapshot with the head. */
async function eventBeyondHead(database: Queryable, tenantId: string): Promise<ChainBreak | undefined> {
  const { rows } = await database.query<{ seq: string; event_id: string; occurred_at: Date; head_seq: string }>(
    `SELECT e.seq::text AS seq, e.event_id::text AS event_id, e.occurred_at, h.seq::text AS head_seq
     FROM audit_events e JOIN audit_chain_heads h ON h.tenant_id = e.tenant_id
     WHERE e.tenant_id = $1 AND e.seq > h.seq ORDER BY e.seq LIMIT 1`,
    [tenantId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    seq: Number(row.seq),
    event_id: row.event_id,
    occurred_at: row.occurred_at.toISOString(),
    reason: `event beyond chain head: seq ${row.seq} is past the head at seq ${row.head_seq} (inserted row)`,
  };
}

function linkProblem(row: EventRow, seq: number, previousSeq: number, prevHash: Buffer, previous: EventRow | undefined): string | undefined {
  const expected = previousSeq + 1;
  if (seq === previousSeq) return `duplicate seq ${seq}: also used by event ${previous?.event_id ?? 'unknown'} (inserted row)`;
  if (seq > expected) {
    const missing = seq - 1 === expected ? `seq ${expected} is` : `seqs ${expected}..${seq - 1} are`;
    return `seq gap: ${missing} missing before this event (deleted rows)`;
  }
  if (!row.prev_hash.equals(prevHash)) {
    return seq === 1 ? 'prev_hash mismatch: the first event does not start from the genesis hash' : `prev_hash mismatch: does not match the hash of seq ${previousSeq}`;
  }
  return undefined;
}

function contentProblem(row: EventRow, seq: number): string | undefined {
  // The jsonb document is the stored event itself; the hash covers exactly it.
  const expected = chainHash(row.prev_hash, seq, row.event as AuditEvent);
  if (!expected.equals(row.hash)) return 'hash mismatch: the event does not match its hash (edited event)';
  const column = disagreeingColumn(row);
  return column ? `column ${column} disagrees with the event JSON (edited column)` : undefined;
}

function member(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function disagreeingColumn(row: EventRow): string | undefined {
  const event = row.event;
  const optional = (value: unknown) => (value === undefined || value === null ? null : String(value));
  const expectations: [string, unknown, unknown][] = [
    ['event_id', row.event_id, event.event_id],
    ['occurred_at', row.occurred_at.toISOString(), event.occurred_at],
    ['tenant_id', row.tenant_id, event.tenant_id],
    ['schema_version', row.schema_version, event.schema_version],
    ['event_type', row.event_type, event.event_type],
    ['action', row.action, event.action],
    ['outcome', row.outcome, event.outcome],
    ['trace_id', row.trace_id, event.trace_id],
    ['session_id', row.session_id, optional(event.session_id)],
    ['actor_user_id', row.actor_user_id, optional(member(event.actor, 'user_id'))],
    ['cost_microdollars', row.cost_microdollars, optional(member(event.cost, 'microdollars'))],
  ];
  return expectations.find(([, stored, inEvent]) => stored !== inEvent)?.[0];
}
