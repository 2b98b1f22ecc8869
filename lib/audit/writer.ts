import pg from 'pg';
import { chainHash, GENESIS_HASH } from './canonical';
import { writeContent, type PreparedContent } from './content';
import { parseAuditEvent, type AuditEvent, type AuditEventInput } from './event';

/** An event as committed: its place in the tenant's chain included. */
export type StoredAuditEvent = AuditEvent & { seq: number };

export interface AuditWriterOptions {
  /** Most events one transaction carries; more wait for the next one. */
  maxBatch?: number;
  /** Most content bytes one transaction carries (an event with more still goes, alone). */
  maxBatchContentBytes?: number;
}

export interface AppendOptions {
  /**
   * Content rows (prepareContent, prepareManifest) committed in the event's transaction: both
   * are stored or neither is. They must belong to the event's tenant.
   */
  content?: readonly PreparedContent[];
}

export interface AuditWriterStats {
  /** Events committed. */
  events: number;
  /** Transactions committed; events / commits is the group-commit ratio. */
  commits: number;
  /** Events rejected because their transaction failed. */
  failed: number;
}

/** The database refused or lost a batch; every event in it was rolled back and rejected. */
export class AuditWriteError extends Error {
  /**
   * True when the database answered with an error, so the transaction certainly did not
   * commit and writing something else instead cannot duplicate it; false when the connection
   * was lost or never made (the outcome of a COMMIT in flight is then unknown).
   */
  readonly refusedByDatabase: boolean;

  constructor(message: string, options: { cause: unknown; refusedByDatabase: boolean }) {
    super(message, options);
    this.name = 'AuditWriteError';
    this.refusedByDatabase = options.refusedByDatabase;
  }
}

interface Pending {
  event: AuditEvent;
  content: readonly PreparedContent[];
  contentBytes: number;
  resolve: (stored: StoredAuditEvent) => void;
  reject: (error: Error) => void;
}

interface ChainHead {
  seq: number;
  hash: Buffer;
}

const DEFAULT_MAX_BATCH = 500;
const DEFAULT_MAX_BATCH_CONTENT_BYTES = 32 * 1024 * 1024;
const TRANSIENT_ATTEMPTS = 3;

// Deadlocks and serialization failures say nothing about the events; trying again is safe.
const TRANSIENT_CODES = new Set(['40P01', '40001']);

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Data exceptions (22) and constraint violations (23) are caused by some event in the batch. */
function causedByAnEvent(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}

/** An error answer from the server, not about the connection itself (classes 08 and 57). */
function databaseRefusal(error: unknown): boolean {
  return error instanceof pg.DatabaseError && !/^(08|57)/.test(error.code ?? '');
}

class ConnectionLost extends Error {}

/**
 * Appends audit events to per-tenant hash chains with group commit: while one transaction is in
 * flight, new events queue up and all go into the next one. A promise resolves only after its
 * event's transaction committed, and a failed transaction rejects every event in it, so nothing
 * is lost silently and nothing is half-written.
 *
 * Correct across processes: each transaction locks the chain-head rows of its tenants, so seq
 * stays gapless and prev_hash always names the event committed before.
 */
export class AuditWriter {
  private readonly maxBatch: number;
  private readonly maxBatchContentBytes: number;
  private queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  private readonly counters: AuditWriterStats = { events: 0, commits: 0, failed: 0 };

  constructor(
    private readonly pool: pg.Pool,
    options: AuditWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxBatchContentBytes = options.maxBatchContentBytes ?? DEFAULT_MAX_BATCH_CONTENT_BYTES;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new Error('maxBatch must be a positive integer');
  }

  /**
   * Resolves once the event (and its content, if any) is durably committed; rejects at once if
   * the input is invalid.
   */
  async append(input: AuditEventInput, options: AppendOptions = {}): Promise<StoredAuditEvent> {
    const [stored] = await this.enqueue([{ input, content: options.content ?? [] }]);
    if (!stored) throw new Error('unreachable: one input, no result');
    return stored;
  }

  /** Validates all inputs first: if any is invalid, none is queued. */
  appendMany(inputs: readonly AuditEventInput[]): Promise<StoredAuditEvent[]> {
    return this.enqueue(inputs.map((input) => ({ input, content: [] })));
  }

  private async enqueue(entries: readonly { input: AuditEventInput; content: readonly PreparedContent[] }[]): Promise<StoredAuditEvent[]> {
    if (this.closed) throw new Error('audit writer is closed');
    const parsed = entries.map(({ input, content }) => {
      const event = parseAuditEvent(input);
      const foreign = content.find((row) => row.tenant_id !== event.tenant_id);
      if (foreign) throw new Error(`content ${foreign.ref.sha256} belongs to tenant ${foreign.tenant_id}, not to the event's tenant ${event.tenant_id}`);
      return { event, content, contentBytes: content.reduce((sum, row) => sum + row.ref.byte_size, 0) };
    });
    const results = parsed.map(
      (entry) => new Promise<StoredAuditEvent>((resolve, reject) => this.queue.push({ ...entry, resolve, reject })),
    );
    this.startDraining();
    return Promise.all(results);
  }

  stats(): AuditWriterStats {
    return { ...this.counters };
  }

  /** Stops accepting events and waits until every queued one is committed or rejected. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await this.draining;
  }

  private startDraining(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.queue.length > 0) this.startDraining();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        this.rejectAll(this.queue.splice(0), error, false);
        return;
      }
      // Taken only now: everything that arrived while waiting for a connection rides along.
      const batch = this.takeBatch();
      let lost: Error | undefined;
      try {
        await this.commitIsolating(client, batch);
      } catch (error) {
        lost = error instanceof Error ? error : new Error(String(error));
      } finally {
        // A connection whose transaction state is unknown must not go back to the pool.
        client.release(lost);
      }
    }
  }

  /** Up to maxBatch events from the queue, stopping before their content exceeds its cap. */
  private takeBatch(): Pending[] {
    let count = 0;
    let bytes = 0;
    for (const pending of this.queue) {
      if (count === this.maxBatch || (count > 0 && bytes + pending.contentBytes > this.maxBatchContentBytes)) break;
      bytes += pending.contentBytes;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  /**
   * Commits the batch in one transaction. If an event in it makes the database refuse the batch,
   * the halves are retried apart so one bad event cannot sink the others' writes.
   */
  private async commitIsolating(client: pg.PoolClient, batch: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await this.commit(client, batch);
        this.counters.commits += 1;
        this.counters.events += batch.length;
        batch.forEach((pending, index) => pending.resolve(stored[index]!));
        return;
      } catch (error) {
        if (error instanceof ConnectionLost) {
          this.rejectAll(batch, error.cause, false);
          throw error;
        }
        if (TRANSIENT_CODES.has(sqlState(error) ?? '') && attempt < TRANSIENT_ATTEMPTS) continue;
        if (batch.length > 1 && causedByAnEvent(error)) {
          const middle = Math.ceil(batch.length / 2);
          const [first, second] = [batch.slice(0, middle), batch.slice(middle)];
          try {
            await this.commitIsolating(client, first);
          } catch (lost) {
            // The connection died under the first half: the second half must not be left hanging.
            this.rejectAll(second, lost instanceof ConnectionLost ? lost.cause : lost, false);
            throw lost;
          }
          await this.commitIsolating(client, second);
          return;
        }
        this.rejectAll(batch, error, databaseRefusal(error));
        return;
      }
    }
  }

  private async commit(client: pg.PoolClient, batch: readonly Pending[]): Promise<StoredAuditEvent[]> {
    try {
      await client.query('BEGIN');
      const stored = await this.writeChains(client, batch);
      await client.query('COMMIT');
      return stored;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        throw new ConnectionLost('connection lost during an audit transaction', { cause: error });
      }
      throw error;
    }
  }

  private async writeChains(client: pg.PoolClient, batch: readonly Pending[]): Promise<StoredAuditEvent[]> {
    const events = batch.map((pending) => pending.event);
    // Sorted so every writer takes row locks in the same order and none can deadlock another.
    const tenants = [...new Set(events.map((event) => event.tenant_id))].sort();
    await client.query(
      'INSERT INTO audit_chain_heads (tenant_id) SELECT unnest($1::uuid[]) ORDER BY 1 ON CONFLICT (tenant_id) DO NOTHING',
      [tenants],
    );
    const { rows } = await client.query<{ tenant_id: string; seq: string; hash: Buffer | null }>(
      'SELECT tenant_id::text AS tenant_id, seq, hash FROM audit_chain_heads WHERE tenant_id = ANY($1::uuid[]) ORDER BY tenant_id FOR UPDATE',
      [tenants],
    );
    const heads = new Map<string, ChainHead>();
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq > 0 && !row.hash) throw new Error(`audit chain head for tenant ${row.tenant_id} has seq ${seq} but no hash`);
      heads.set(row.tenant_id, { seq, hash: row.hash ?? GENESIS_HASH });
    }
    // After the head locks: two transactions storing the same tenant's content are serialised
    // by that tenant's head, so they never wait on each other's content rows.
    await writeContent(batch.flatMap((pending) => pending.content), client);

    const stored: StoredAuditEvent[] = [];
    const columns = {
      occurredAt: [] as string[],
      eventId: [] as string[],
      tenantId: [] as string[],
      seq: [] as number[],
      schemaVersion: [] as number[],
      eventType: [] as string[],
      action: [] as string[],
      outcome: [] as string[],
      traceId: [] as string[],
      sessionId: [] as (string | null)[],
      actorUserId: [] as (string | null)[],
      costMicrodollars: [] as (number | null)[],
      event: [] as string[],
      prevHash: [] as Buffer[],
      hash: [] as Buffer[],
    };
    for (const event of events) {
      const head = heads.get(event.tenant_id);
      if (!head) throw new Error(`audit chain head for tenant ${event.tenant_id} is missing`);
      const seq = head.seq + 1;
      const hash = chainHash(head.hash, seq, event);
      columns.occurredAt.push(event.occurred_at);
      columns.eventId.push(event.event_id);
      columns.tenantId.push(event.tenant_id);
      columns.seq.push(seq);
      columns.schemaVersion.push(event.schema_version);
      columns.eventType.push(event.event_type);
      columns.action.push(event.action);
      columns.outcome.push(event.outcome);
      columns.traceId.push(event.trace_id);
      columns.sessionId.push(event.session_id ?? null);
      columns.actorUserId.push(event.actor?.user_id ?? null);
      columns.costMicrodollars.push(event.cost?.microdollars ?? null);
      columns.event.push(JSON.stringify(event));
      columns.prevHash.push(head.hash);
      columns.hash.push(hash);
      head.seq = seq;
      head.hash = hash;
      stored.push({ ...event, seq });
    }

    await client.query(
      `INSERT INTO audit_events (occurred_at, event_id, tenant_id, seq, schema_version, event_type, action, outcome,
         trace_id, session_id, actor_user_id, cost_microdollars, event, prev_hash, hash)
       SELECT * FROM unnest($1::timestamptz[], $2::uuid[], $3::uuid[], $4::bigint[], $5::smallint[], $6::text[], $7::text[],
         $8::text[], $9::text[], $10::text[], $11::uuid[], $12::bigint[], $13::jsonb[], $14::bytea[], $15::bytea[])`,
      [
        columns.occurredAt,
        columns.eventId,
        columns.tenantId,
        columns.seq,
        columns.schemaVersion,
        columns.eventType,
        columns.action,
        columns.outcome,
        columns.traceId,
        columns.sessionId,
        columns.actorUserId,
        columns.costMicrodollars,
        columns.event,
        columns.prevHash,
        columns.hash,
      ],
    );
    await client.query(
      `UPDATE audit_chain_heads AS head SET seq = moved.seq, hash = moved.hash, updated_at = now()
       FROM unnest($1::uuid[], $2::bigint[], $3::bytea[]) AS moved(tenant_id, seq, hash)
       WHERE head.tenant_id = moved.tenant_id`,
      [[...heads.keys()], [...heads.values()].map((head) => head.seq), [...heads.values()].map((head) => head.hash)],
    );
    return stored;
  }

  private rejectAll(batch: Pending[], cause: unknown, refusedByDatabase: boolean): void {
    if (batch.length === 0) return;
    this.counters.failed += batch.length;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const error = new AuditWriteError(`audit write failed, ${batch.length} event(s) not recorded: ${reason}`, { cause, refusedByDatabase });
    for (const pending of batch) pending.reject(error);
  }
}
