import type pg from 'pg';
import { appendAuditEvent } from '@/lib/audit';
import type { GatehouseConfig } from '@/lib/config';
import { chunkRecords, retryDelayMs, sendChunk } from './deliver';
import { checkpointRecord, eventRecord, redact, wanted, type ForwardRecord } from './records';
import {
  claimBatches,
  cutBatches,
  listSinks,
  markDelivered,
  markFailed,
  markProgress,
  pruneDelivered,
  readCheckpoints,
  readEvents,
  syncConfigSinks,
  type ClaimedBatch,
  type SinkRow,
} from './repository';
import { resolveSink, SinkUnusableError, type ResolvedSink } from './sinks';

/** Chain events per outbox batch (a batch is then chunked to each vendor's request limits). */
export const BATCH_EVENTS = 500;

export interface ForwardOptions {
  database: pg.Pool;
  config: GatehouseConfig;
  /** The installation's tenant, which gatehouse.yaml sinks belong to (null before bootstrap). */
  tenantId: string | null;
  /** How long a claim lasts before another worker may take the batch over. */
  leaseMs?: number;
  /** Stop claiming new batches after this long (what is claimed is finished). */
  budgetMs?: number;
  /** Batches sent side by side. */
  parallel?: number;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
}

export interface ForwardRun {
  cut: number;
  delivered: number;
  retried: number;
  dead: number;
  /** Events and checkpoints sent (redeliveries included). */
  records: number;
}

const DEFAULT_LEASE_MS = 120_000;

function leaseFor(sink: ResolvedSink, configured: number | undefined): number {
  // Long enough for every request of a batch to time out once, so a slow sink is not taken over.
  return configured ?? Math.max(DEFAULT_LEASE_MS, sink.timeoutMs * (Math.ceil(BATCH_EVENTS / 100) + 2));
}

async function recordsOf(database: pg.Pool, batch: ClaimedBatch, sink: ResolvedSink): Promise<ForwardRecord[]> {
  const raw =
    batch.kind === 'events'
      ? (await readEvents(database, batch.tenant_id, batch.delivered_through, batch.to_seq)).map(eventRecord)
      : sink.checkpoints
        ? (await readCheckpoints(database, batch.tenant_id, batch.delivered_through, batch.to_seq)).map(checkpointRecord)
        : [];
  return raw.filter((record) => wanted(record, sink.filter)).map((record) => ({ ...record, doc: redact(record.doc, sink.redact) }));
}

type Outcome = { kind: 'delivered'; records: number } | { kind: 'failed'; dead: boolean; records: number } | { kind: 'lost' };

async function deliverBatch(options: ForwardOptions, batch: ClaimedBatch, row: SinkRow | undefined): Promise<Outcome> {
  const { database } = options;
  let sink: ResolvedSink | null;
  try {
    if (!row) throw new SinkUnusableError('the sink no longer exists');
    sink = await resolveSink(row, options.config, options.env);
    if (!sink) throw new SinkUnusableError('gatehouse.yaml no longer defines it');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Not the receiver's fault and not fixed by waiting seconds: retried on the slow end of the backoff.
    const dead = batch.attempts >= 8;
    return (await markFailed(database, batch, `sink ${row?.name ?? batch.sink_id} cannot be used: ${message}`, 60_000, dead)) ? { kind: 'failed', dead, records: 0 } : { kind: 'lost' };
  }
  const leaseMs = leaseFor(sink, options.leaseMs);
  const records = await recordsOf(database, batch, sink);
  let sent = 0;
  for (const chunk of chunkRecords(records, sink)) {
    const verdict = await sendChunk(chunk, sink);
    sent += chunk.records.length;
    if (verdict.ok) {
      if (!(await markProgress(database, batch, chunk.records.at(-1)!.position, leaseMs))) return { kind: 'lost' };
      continue;
    }
    // Whatever the vendor stored before the first refused record need not be sent again.
    if (verdict.accepted > 0) await markProgress(database, batch, chunk.records[verdict.accepted - 1]!.position, leaseMs);
    const dead = batch.attempts >= sink.maxAttempts;
    const delay = retryDelayMs(batch.attempts, sink, verdict.retryAfterMs);
    const message = `${sink.name}: ${verdict.message}`;
    if (!(await markFailed(database, batch, message, delay, dead))) return { kind: 'lost' };
    if (dead) await recordDeadLetter(batch, sink, message, options.log);
    return { kind: 'failed', dead, records: sent };
  }
  return (await markDelivered(database, batch)) ? { kind: 'delivered', records: sent } : { kind: 'lost' };
}

/** A dead letter is something an operator must act on: it goes into the audit trail (and so to the other sinks). */
async function recordDeadLetter(batch: ClaimedBatch, sink: ResolvedSink, message: string, log: ((line: string) => void) | undefined): Promise<void> {
  log?.(`siem: batch ${batch.id} for sink ${sink.name} is a dead letter after ${batch.attempts} attempts: ${message}`);
  await appendAuditEvent({
    tenant_id: batch.tenant_id,
    event_type: 'system.housekeeping',
    action: 'siem.dead_letter',
    outcome: 'failure',
    call_source: 'worker',
    target: { type: 'siem_sink', id: sink.id, name: sink.name },
    error: { type: 'siem_delivery', message: message.slice(0, 4000) },
    attributes: { batch_id: batch.id, kind: batch.kind, from_seq: batch.from_seq, to_seq: batch.to_seq, attempts: batch.attempts },
  }).catch((error: unknown) => log?.(`siem: could not record the dead letter: ${error instanceof Error ? error.message : String(error)}`));
}

/**
 * One forwarding pass: gatehouse.yaml sinks synced, new chain events and checkpoints cut into
 * batches, then due batches claimed and delivered until none is left or the budget is spent.
 * Safe to run in any number of workers at once.
 */
export async function forwardOnce(options: ForwardOptions): Promise<ForwardRun> {
  const { database, log } = options;
  const run: ForwardRun = { cut: 0, delivered: 0, retried: 0, dead: 0, records: 0 };
  if (options.tenantId) {
    const clashes = await syncConfigSinks(database, options.tenantId, options.config.siem.sinks);
    for (const name of clashes) log?.(`siem: gatehouse.yaml sink "${name}" has the name of a dashboard sink; the dashboard's is kept`);
  }
  const sinks = await listSinks(database);
  for (const sink of sinks.filter((row) => row.enabled)) run.cut += await cutBatches(database, sink.id, BATCH_EVENTS, 100);

  const byId = new Map(sinks.map((sink) => [sink.id, sink]));
  const deadline = Date.now() + (options.budgetMs ?? 20_000);
  const parallel = options.parallel ?? 4;
  while (Date.now() < deadline) {
    const claimed = await claimBatches(database, parallel, options.leaseMs ?? DEFAULT_LEASE_MS);
    if (claimed.length === 0) break;
    const outcomes = await Promise.all(claimed.map((batch) => deliverBatch(options, batch, byId.get(batch.sink_id))));
    for (const outcome of outcomes) {
      if (outcome.kind === 'lost') continue;
      run.records += outcome.records;
      if (outcome.kind === 'delivered') run.delivered += 1;
      else if (outcome.dead) run.dead += 1;
      else run.retried += 1;
    }
  }
  await pruneDelivered(database, 7);
  return run;
}
