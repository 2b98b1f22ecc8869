import pg from 'pg';
import { contentColumns, type PreparedContent } from './content';
import { prepareBuiltAuditEvent } from './built';
import { prepareAuditEvent, type AuditEvent, type AuditEventInput } from './event';

/** An event as committed: its place in the tenant's chain included. */
export type StoredAuditEvent = AuditEvent & { seq: number };

export interface AuditWriterOptions {
  /** Most events one transaction carries; more wait for the next one. */
  maxBatch?: number;
  /** Most content bytes one transaction carries (an event with more still goes, alone). */
  maxBatchContentBytes?: number;
  /** How long a deferred event (AppendOptions.deferred) waits for a transaction to ride in before it starts one. */
  deferredLingerMs?: number;
}

export interface AppendOptions {
  /**
   * Content rows (prepareContent, prepareSerialisedManifest) committed in the event's transaction: both
   * are stored or neither is. They must belong to the event's tenant.
   */
  content?: readonly PreparedContent[];
  /**
   * The event was built by Gatehouse code from values checked at their trust boundary (the
   * gateway's evidence): prepared without the schema's parse, see prepareBuiltAuditEvent.
   */
  built?: boolean;
  /**
   * Nobody is waiting for this event (a response event, written after the answer went out):
   * instead of a transaction of its own it rides in the next one another append starts, or
   * starts one after deferredLingerMs. At low concurrency a call's response event then shares
   * the next call's request-event commit instead of holding the chain head while that request
   * waits (one commit per call instead of two). The promise still resolves only once committed;
   * flush() and close() send what is waiting at once. One carrying more than 256 KiB of content
   * never rides with events someone waits on (its size would slow them), and if the database
   * refuses a transaction mixing both, each part is tried again on its own.
   */
  deferred?: boolean;
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
  /** The event's canonical JSON, serialised once: stored, and hashed by the database. */
  canonical: string;
  content: readonly PreparedContent[];
  contentBytes: number;
  /** AppendOptions.deferred: waits for a transaction something else starts, or for its linger. */
  deferred: boolean;
  resolve: (stored: StoredAuditEvent) => void;
  reject: (error: Error) => void;
}

const DEFAULT_MAX_BATCH = 500;
const DEFAULT_MAX_BATCH_CONTENT_BYTES = 32 * 1024 * 1024;
// Long enough for a client at one connection (a call every few milliseconds) to bring the next
// request event; short against the reconciler's minutes, which covers a crash in between.
const DEFAULT_DEFERRED_LINGER_MS = 25;
const TRANSIENT_ATTEMPTS = 3;
// A deferred event with more content than this waits for a transaction of deferred events only.
const RIDE_ALONG_MAX_CONTENT_BYTES = 256 * 1024;
// Deferred events not yet due when no connection could be made: nothing was sent for them, so
// they are tried again this many times, after 100, 200, 400 ms, before they are rejected.
const CONNECT_RETRIES = 3;
const CONNECT_RETRY_BASE_MS = 100;

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

/** No answer from the server, or the server ending the session (08xxx, 57P01–57P03): the statement's outcome is unknown. */
function connectionGone(error: unknown): boolean {
  return !(error instanceof pg.DatabaseError) || /^(08|57P0)/.test(error.code ?? '');
}

/** Events of one batch, as the parallel arrays audit_append_events takes. */
function eventColumns(batch: readonly Pending[]): unknown[] {
  const columns = Array.from({ length: 12 }, (): unknown[] => []);
  for (const { event, canonical } of batch) {
    const values = [
      event.tenant_id,
      event.occurred_at,
      event.event_id,
      event.schema_version,
      event.event_type,
      event.action,
      event.outcome,
      event.trace_id,
      event.session_id ?? null,
      event.actor?.user_id ?? null,
      event.cost?.microdollars ?? null,
      canonical,
    ];
    values.forEach((value, index) => columns[index]!.push(value));
  }
  return columns;
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
  private readonly deferredLingerMs: number;
  private queue: Pending[] = [];
  /** Queued events that are not deferred: while there are any, a transaction is due. */
  private urgent = 0;
  /** The deferred events queued are due too (their linger passed, or flush() was called). */
  private deferredDue = false;
  private draining: Promise<void> | null = null;
  /**
   * Armed while deferred events wait and no transaction is in flight (a running drain starts the
   * next one itself), or to retry after a failed connect: makes them due if no other append comes first.
   */
  private lingering: NodeJS.Timeout | null = null;
  /** flush({ fromNowOn: true }) was called (and resumeLinger() not since): deferred events are due as soon as they are appended. */
  private lingerStopped = false;
  /** Connects that failed in a row; deferred events are kept for a retry until CONNECT_RETRIES. */
  private connectFailures = 0;
  private closed = false;
  private readonly counters: AuditWriterStats = { events: 0, commits: 0, failed: 0 };

  constructor(
    private readonly pool: pg.Pool,
    options: AuditWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxBatchContentBytes = options.maxBatchContentBytes ?? DEFAULT_MAX_BATCH_CONTENT_BYTES;
    this.deferredLingerMs = options.deferredLingerMs ?? DEFAULT_DEFERRED_LINGER_MS;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new Error('maxBatch must be a positive integer');
    if (!Number.isFinite(this.deferredLingerMs) || this.deferredLingerMs < 0) throw new Error('deferredLingerMs must be a finite number >= 0');
  }

  /**
   * Resolves once the event (and its content, if any) is durably committed; rejects at once if
   * the input is invalid.
   */
  async append(input: AuditEventInput, options: AppendOptions = {}): Promise<StoredAuditEvent> {
    const [stored] = await this.enqueue([{ input, content: options.content ?? [], built: options.built ?? false }], options.deferred ?? false);
    if (!stored) throw new Error('unreachable: one input, no result');
    return stored;
  }

  /** Validates all inputs first: if any is invalid, none is queued. */
  appendMany(inputs: readonly AuditEventInput[]): Promise<StoredAuditEvent[]> {
    return this.enqueue(inputs.map((input) => ({ input, content: [], built: false })), false);
  }

  private async enqueue(entries: readonly { input: AuditEventInput; content: readonly PreparedContent[]; built: boolean }[], deferred: boolean): Promise<StoredAuditEvent[]> {
    if (this.closed) throw new Error('audit writer is closed');
    const parsed = entries.map(({ input, content, built }) => {
      const { event, canonical } = built ? prepareBuiltAuditEvent(input) : prepareAuditEvent(input);
      const foreign = content.find((row) => row.tenant_id !== event.tenant_id);
      if (foreign) throw new Error(`content ${foreign.ref.sha256} belongs to tenant ${foreign.tenant_id}, not to the event's tenant ${event.tenant_id}`);
      return { event, canonical, content, contentBytes: content.reduce((sum, row) => sum + row.ref.byte_size, 0), deferred };
    });
    const results = parsed.map(
      (entry) => new Promise<StoredAuditEvent>((resolve, reject) => this.queue.push({ ...entry, resolve, reject })),
    );
    if (deferred && this.lingerStopped) this.flush();
    else if (deferred) this.linger();
    else {
      this.urgent += parsed.length;
      this.startDraining();
    }
    return Promise.all(results);
  }

  /**
   * Sends deferred events now instead of at the end of their linger. `fromNowOn` (a shutdown's
   * drain) makes every deferred event appended later due at once too, so none waits a linger
   * the drain would have to sit out.
   */
  flush(options: { fromNowOn?: boolean } = {}): void {
    if (options.fromNowOn) this.lingerStopped = true;
    if (this.queue.length === 0) return;
    this.deferredDue = true;
    this.startDraining();
  }

  /** Ends what flush({ fromNowOn: true }) started: deferred events linger again (a drain that was not a shutdown is over). */
  resumeLinger(): void {
    this.lingerStopped = false;
  }

  stats(): AuditWriterStats {
    return { ...this.counters };
  }

  /** Stops accepting events and waits until every queued one is committed or rejected. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    while (this.draining) await this.draining;
  }

  /** Whether a transaction is due: for events someone waits on, or for deferred ones past their linger. */
  private due(): boolean {
    return this.urgent > 0 || (this.deferredDue && this.queue.length > 0);
  }

  /** Deferred events wait for the next transaction, which a running drain starts if anything else is due. */
  private linger(): void {
    if (this.draining || this.lingering || this.deferredDue) return;
    const delayMs = this.connectFailures > 0 ? CONNECT_RETRY_BASE_MS * 2 ** (Math.min(this.connectFailures, CONNECT_RETRIES) - 1) : this.deferredLingerMs;
    this.lingering = setTimeout(() => {
      this.lingering = null;
      this.deferredDue = true;
      this.startDraining();
    }, delayMs);
  }

  private startDraining(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.due()) this.startDraining();
      else if (this.queue.length > 0) this.linger();
    });
  }

  private async drain(): Promise<void> {
    while (this.due()) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        this.connectFailed(error);
        return;
      }
      this.connectFailures = 0;
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

  /**
   * Rejects what someone waits on: nothing was sent, but the caller should not wait out retries.
   * Deferred events are kept for a retry with backoff (nothing was sent for them either, so it
   * cannot duplicate them; a later append's drain takes them sooner), unless the writer is closing
   * or CONNECT_RETRIES connects in a row failed.
   */
  private connectFailed(error: unknown): void {
    this.connectFailures += 1;
    const retry = !this.closed && this.connectFailures <= CONNECT_RETRIES;
    const failed: Pending[] = [];
    const kept: Pending[] = [];
    for (const pending of this.queue) (retry && pending.deferred ? kept : failed).push(pending);
    // Kept events are due again only after the backoff (startDraining's linger arms it), or with the next append.
    this.deferredDue = false;
    this.rejectAll(this.taken(failed, kept), error, false);
  }

  /**
   * Up to maxBatch events from the queue, stopping before their content exceeds its cap. While
   * events someone waits on are queued, deferred ones with large content stay behind for a
   * transaction of their own.
   */
  private takeBatch(): Pending[] {
    const holdBack = this.urgent > 0 && !this.deferredDue;
    const batch: Pending[] = [];
    const heldBack: Pending[] = [];
    let bytes = 0;
    let index = 0;
    for (; index < this.queue.length; index++) {
      const pending = this.queue[index]!;
      if (batch.length === this.maxBatch || (batch.length > 0 && bytes + pending.contentBytes > this.maxBatchContentBytes)) break;
      if (holdBack && pending.deferred && pending.contentBytes > RIDE_ALONG_MAX_CONTENT_BYTES) {
        heldBack.push(pending);
        continue;
      }
      bytes += pending.contentBytes;
      batch.push(pending);
    }
    const rest = this.queue.slice(index);
    return this.taken(batch, heldBack.length > 0 ? heldBack.concat(rest) : rest);
  }

  /** Leaves `left` queued and keeps the counts of what is still queued true after `batch` left the queue. */
  private taken(batch: Pending[], left: Pending[]): Pending[] {
    this.queue = left;
    this.urgent -= batch.filter((pending) => !pending.deferred).length;
    if (this.queue.length === 0) this.deferredDue = false;
    if (this.lingering && !this.queue.some((pending) => pending.deferred)) {
      // Every deferred event rides in this batch: nothing is left to linger for.
      clearTimeout(this.lingering);
      this.lingering = null;
    }
    return batch;
  }

  /**
   * Commits the batch in one transaction. If the database refuses a batch mixing deferred events
   * with ones someone waits on, the two parts are retried apart (the waiting ones first), so a
   * call is not failed by another call's response event nor that event by the call; if an event
   * makes it refuse the batch, the halves are retried apart so one bad event cannot sink the
   * others' writes.
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
        const waitedOn = batch.filter((pending) => !pending.deferred);
        if (waitedOn.length > 0 && waitedOn.length < batch.length) {
          return this.commitApart(client, waitedOn, batch.filter((pending) => pending.deferred));
        }
        if (batch.length > 1 && causedByAnEvent(error)) {
          const middle = Math.ceil(batch.length / 2);
          return this.commitApart(client, batch.slice(0, middle), batch.slice(middle));
        }
        this.rejectAll(batch, error, databaseRefusal(error));
        return;
      }
    }
  }

  /** Commits `first`, then `second`, each isolating its own failures. */
  private async commitApart(client: pg.PoolClient, first: Pending[], second: Pending[]): Promise<void> {
    try {
      await this.commitIsolating(client, first);
    } catch (lost) {
      // The connection died under the first part: the second must not be left hanging.
      this.rejectAll(second, lost instanceof ConnectionLost ? lost.cause : lost, false);
      throw lost;
    }
    await this.commitIsolating(client, second);
  }

  /**
   * One statement, so one round trip and one transaction: audit_append_events locks the batch's
   * chain heads, stores its content, links and inserts its events and moves the heads (see its
   * migration, 20261202170000_audit_append_function). A failure that is not the database's answer
   * (the connection broke, or the server is going away) leaves the outcome unknown.
   */
  private async commit(client: pg.PoolClient, batch: readonly Pending[]): Promise<StoredAuditEvent[]> {
    let seqs: string[];
    try {
      const { rows } = await client.query<{ seqs: string[] }>(
        `SELECT audit_append_events($1::uuid[], $2::timestamptz[], $3::uuid[], $4::smallint[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::text[], $10::uuid[], $11::bigint[], $12::text[], $13::uuid[], $14::bytea[], $15::text[], $16::text[], $17::text[], $18::int[]) AS seqs`,
        [...eventColumns(batch), ...contentColumns(batch.flatMap((pending) => pending.content))],
      );
      seqs = rows[0]!.seqs;
    } catch (error) {
      if (connectionGone(error)) throw new ConnectionLost('connection lost during an audit transaction', { cause: error });
      throw error;
    }
    return batch.map((pending, index) => ({ ...pending.event, seq: Number(seqs[index]) }));
  }

  private rejectAll(batch: Pending[], cause: unknown, refusedByDatabase: boolean): void {
    if (batch.length === 0) return;
    this.counters.failed += batch.length;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const error = new AuditWriteError(`audit write failed, ${batch.length} event(s) not recorded: ${reason}`, { cause, refusedByDatabase });
    for (const pending of batch) pending.reject(error);
  }
}
