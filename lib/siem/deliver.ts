import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { ForwardRecord } from './records';
import type { ResolvedSink } from './sinks';
import { VENDORS, type SendVerdict, type VendorFormat } from './vendors';

const gzipAsync = promisify(gzip);

export interface Chunk {
  records: ForwardRecord[];
  items: string[];
  bytes: number;
}

/**
 * Splits records into requests within the vendor's (or the sink's own) count and byte limits.
 * A single record over the byte limit still goes, alone: the vendor decides (and a refusal ends
 * in a dead letter that names it) rather than the record silently vanishing here.
 */
export function chunkRecords(records: readonly ForwardRecord[], sink: ResolvedSink, vendor: VendorFormat = VENDORS[sink.type]): Chunk[] {
  const maxEvents = Math.min(sink.maxEvents ?? vendor.maxEvents, vendor.maxEvents);
  const maxBytes = sink.maxBytes ?? vendor.maxBytes;
  const chunks: Chunk[] = [];
  let current: Chunk = { records: [], items: [], bytes: vendor.overhead(0) };
  for (const record of records) {
    const item = vendor.encode(record, sink);
    const size = Buffer.byteLength(item) + 1;
    if (current.records.length > 0 && (current.records.length >= maxEvents || current.bytes + size > maxBytes)) {
      chunks.push(current);
      current = { records: [], items: [], bytes: vendor.overhead(0) };
    }
    current.records.push(record);
    current.items.push(item);
    current.bytes += size;
  }
  if (current.records.length > 0) chunks.push(current);
  return chunks;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Sends one chunk and reads the vendor's verdict. Network errors and timeouts are verdicts too. */
export async function sendChunk(chunk: Chunk, sink: ResolvedSink, vendor: VendorFormat = VENDORS[sink.type]): Promise<SendVerdict> {
  const body = Buffer.from(vendor.frame(chunk.items, sink));
  const compress = sink.gzip ?? vendor.gzip;
  const headers: Record<string, string> = {
    ...sink.headers,
    ...vendor.headers(sink),
    'content-type': vendor.contentType,
    'user-agent': 'gatehouse-siem-forwarder',
  };
  if (compress) headers['content-encoding'] = 'gzip';
  let response: Response;
  let text: string;
  try {
    response = await fetch(vendor.endpoint(sink), {
      method: 'POST',
      headers,
      body: compress ? await gzipAsync(body) : body,
      signal: AbortSignal.timeout(sink.timeoutMs),
      redirect: 'error',
    });
    text = await response.text();
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${sink.timeoutMs} ms` : error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    return { ok: false, message: `request failed: ${reason}`, accepted: 0 };
  }
  if (response.ok) return vendor.checkSuccess(text, chunk.records.length);
  const wait = retryAfterMs(response.headers.get('retry-after'));
  return {
    ok: false,
    message: `HTTP ${response.status}${text ? `: ${text.slice(0, 300)}` : ''}`,
    accepted: vendor.acceptedOnError?.(text) ?? 0,
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}

/** Exponential backoff with full jitter, never below what the vendor asked for. */
export function retryDelayMs(attempt: number, sink: Pick<ResolvedSink, 'baseDelayMs' | 'maxDelayMs'>, vendorAsked?: number, random: () => number = Math.random): number {
  const ceiling = Math.min(sink.maxDelayMs, sink.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.max(jittered, Math.min(vendorAsked ?? 0, sink.maxDelayMs));
}
