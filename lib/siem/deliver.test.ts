import { describe, expect, it } from 'vitest';
import { chunkRecords, retryDelayMs } from './deliver';
import type { ForwardRecord } from './records';
import type { ResolvedSink } from './sinks';
import { VENDORS } from './vendors';

function sink(overrides: Partial<ResolvedSink> = {}): ResolvedSink {
  return {
    id: 'sink',
    name: 'sink',
    type: 'datadog',
    url: 'http://127.0.0.1:1',
    secret: 'key',
    index: undefined,
    source: undefined,
    filter: {},
    redact: [],
    checkpoints: true,
    gzip: undefined,
    maxEvents: undefined,
    maxBytes: undefined,
    timeoutMs: 1000,
    maxAttempts: 3,
    baseDelayMs: 1000,
    maxDelayMs: 60_000,
    headers: {},
    ...overrides,
  };
}

function record(position: number, padding: number): ForwardRecord {
  const event_id = `0190a000-0000-7000-8000-${String(position).padStart(12, '0')}`;
  return { kind: 'audit_event', position, event_id, event_type: 'inference.request', occurred_at: new Date(0).toISOString(), department: undefined, doc: { event_id, event_type: 'inference.request', pad: 'x'.repeat(padding) } };
}

describe('chunking to vendor limits', () => {
  it('keeps every request within the byte limit, counting the framing, and loses no record', () => {
    const target = sink({ maxBytes: 10_000 });
    const records = Array.from({ length: 50 }, (_, n) => record(n + 1, 900));
    const chunks = chunkRecords(records, target);
    expect(chunks.flatMap((chunk) => chunk.records.map((r) => r.position))).toEqual(records.map((r) => r.position));
    for (const chunk of chunks) expect(Buffer.byteLength(VENDORS.datadog.frame(chunk.items, target))).toBeLessThanOrEqual(10_000);
    expect(chunks.length).toBeGreaterThan(4);
  });

  it('caps the count at the vendor maximum even when the sink asks for more, and sends an oversized record alone', () => {
    const chunks = chunkRecords(Array.from({ length: 2_500 }, (_, n) => record(n + 1, 0)), sink({ maxEvents: 5_000, maxBytes: 50 * 1024 * 1024 }));
    expect(chunks.map((chunk) => chunk.records.length)).toEqual([1_000, 1_000, 500]);
    const alone = chunkRecords([record(1, 10), record(2, 20_000), record(3, 10)], sink({ maxBytes: 5_000 }));
    expect(alone.map((chunk) => chunk.records.map((r) => r.position))).toEqual([[1], [2], [3]]);
  });
});

describe('retry delays', () => {
  it('doubles from the base with jitter in the upper half, capped, and never sooner than Retry-After', () => {
    const target = sink({ baseDelayMs: 1_000, maxDelayMs: 10_000 });
    expect(retryDelayMs(1, target, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(1, target, undefined, () => 1)).toBe(1_000);
    expect(retryDelayMs(3, target, undefined, () => 1)).toBe(4_000);
    expect(retryDelayMs(10, target, undefined, () => 1)).toBe(10_000);
    expect(retryDelayMs(1, target, 7_000, () => 0)).toBe(7_000);
    expect(retryDelayMs(1, target, 99_000, () => 0)).toBe(10_000);
  });
});
