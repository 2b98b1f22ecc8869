import type pg from 'pg';
import { pool } from '@/lib/db/client';
import { onDrain } from '@/lib/platform/background';
import { spanForAuditEvent } from '@/lib/tracing/active';
import type { AuditEventInput } from './event';
import { AuditWriter, type AppendOptions, type AuditWriterOptions, type StoredAuditEvent } from './writer';

// One writer per process (kept on globalThis like the database handles, so Next's dev reloads
// share it): group commit only helps if every caller in the process shares the same queue.
const globalWriter = globalThis as typeof globalThis & {
  __gatehouseAuditWriter?: { pool: pg.Pool; writer: AuditWriter };
  __gatehouseAuditWriterOptions?: AuditWriterOptions;
};

/**
 * Options for the process-wide writer created next (after closeAuditWriter): tests use a long
 * deferred linger to see that a shutdown's drain, not the linger, sends deferred events.
 */
export function useAuditWriterOptions(options: AuditWriterOptions): void {
  globalWriter.__gatehouseAuditWriterOptions = options;
}

/** The process-wide writer on the application pool; a new one if the pool was replaced. */
export function auditWriter(): AuditWriter {
  const appPool = pool();
  const existing = globalWriter.__gatehouseAuditWriter;
  if (existing && existing.pool === appPool) return existing.writer;
  const writer = new AuditWriter(appPool, globalWriter.__gatehouseAuditWriterOptions);
  globalWriter.__gatehouseAuditWriter = { pool: appPool, writer };
  // A drain (a shutdown's) sends deferred events at once instead of after their linger, including
  // those appended while it waits for the background tasks that write them. Once it is over they
  // linger again: a shutdown closes the writer next (which sends what is left), and a test that
  // drained mid-file goes on with the writer as it was.
  onDrain('audit: deferred events', () => {
    writer.flush({ fromNowOn: true });
    return () => writer.resumeLinger();
  });
  return writer;
}

/** Records one event (with its content, if given); resolves once both are committed. */
export async function appendAuditEvent(input: AuditEventInput, options?: AppendOptions): Promise<StoredAuditEvent> {
  const stored = await auditWriter().append(input, options);
  // Inference and tool calls also become OpenTelemetry spans when an OTLP endpoint is configured.
  spanForAuditEvent(stored);
  return stored;
}

/** Records several events; all are validated before any is queued. */
export function appendAuditEvents(inputs: readonly AuditEventInput[]): Promise<StoredAuditEvent[]> {
  return auditWriter().appendMany(inputs);
}

/** Drains queued events; call before closeDatabase() on shutdown so none is rejected. */
export async function closeAuditWriter(): Promise<void> {
  const existing = globalWriter.__gatehouseAuditWriter;
  globalWriter.__gatehouseAuditWriter = undefined;
  await existing?.writer.close();
}
