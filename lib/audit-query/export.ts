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
 * Writes every matching event, oldest first, to `sink`: CSV with the explorer's columns, or
 * NDJSON with each event's full stored document. Streams batch by batch and waits for the sink
 * to drain, so memory stays at one batch whatever the range. Resolves with the rows written.
 */
export async function exportAuditEvents(tenantId: string, filters: AuditFilters, sink: Writable, options: ExportOptions): Promise<number> {
  const batchSize = options.batchSize ?? 1_000;
  const total = await countAuditEvents(tenantId, filters);
  let written = 0;
  let pending = options.format === 'csv' ? csvHeader() : '';
  const flush = async () => {
    if (!pending) return;
    const chunk = pending;
    pending = '';
    if (!sink.write(chunk)) await once(sink, 'drain');
  };
  for await (const { row, event } of streamAuditEvents(tenantId, filters, { batchSize })) {
    pending += options.format === 'csv' ? csvRow(row) : `${JSON.stringify(event)}\n`;
    written += 1;
    if (written % batchSize === 0) {
      await flush();
      options.onProgress?.({ written, total: Math.max(total, written) });
    }
  }
  await flush();
  options.onProgress?.({ written, total: Math.max(total, written) });
  return written;
}
