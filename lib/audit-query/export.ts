import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { csvHeader, csvRow } from './columns';
import type { AuditFilters } from './filters';
import { countAuditEvents, streamAuditEvents } from './repository';

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportProgress {
  written: number;
  /** Matching events when the export began; events appended since may add a few. */
  total: number;
}

export interface ExportOptions {
  format: ExportFormat;
  /** Called after every batch written. */
  onProgress?: (progress: ExportProgress) => void;
  batchSize?: number;
}

/**
 * Every matching event, oldest first, as text one batch at a time: CSV with the explorer's
 * columns (header first), or NDJSON with each event's full stored document. Nothing is fetched
 * until the consumer asks for the next chunk, so memory holds one batch whatever the range.
 */
export async function* exportChunks(tenantId: string, filters: AuditFilters, format: ExportFormat, batchSize = 1_000): AsyncGenerator<{ text: string; written: number }> {
  let written = 0;
  let pending = format === 'csv' ? csvHeader() : '';
  for await (const { row, event } of streamAuditEvents(tenantId, filters, { batchSize })) {
    pending += format === 'csv' ? csvRow(row) : `${JSON.stringify(event)}\n`;
    written += 1;
    if (written % batchSize === 0) {
      yield { text: pending, written };
      pending = '';
    }
  }
  if (pending || written === 0) yield { text: pending, written };
}

/** Writes the export to `sink`, waiting for it to drain after each batch; resolves with the rows written. */
export async function exportAuditEvents(tenantId: string, filters: AuditFilters, sink: Writable, options: ExportOptions): Promise<number> {
  const total = await countAuditEvents(tenantId, filters);
  let written = 0;
  for await (const chunk of exportChunks(tenantId, filters, options.format, options.batchSize)) {
    written = chunk.written;
    if (chunk.text && !sink.write(chunk.text)) await once(sink, 'drain');
    options.onProgress?.({ written, total: Math.max(total, written) });
  }
  return written;
}

/** The export as a response body: pulled batch by batch as the client reads it. */
export function exportStream(tenantId: string, filters: AuditFilters, format: ExportFormat): ReadableStream<Uint8Array> {
  const chunks = exportChunks(tenantId, filters, format);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else if (next.value.text) controller.enqueue(encoder.encode(next.value.text));
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

/** `gatehouse-audit_2026-11-27T00-00-00Z_2026-11-28T00-00-00Z.csv` */
export function exportFilename(filters: AuditFilters, format: ExportFormat): string {
  const stamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '-');
  return `gatehouse-audit_${stamp(filters.from)}_${stamp(filters.to)}.${format}`;
}
