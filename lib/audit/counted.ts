/**
 * Events a client can cause in a loop (a rejected token retried by a script, an unknown model, a
 * failed refresh, an OTLP exporter flushing every few seconds) are counted in memory and written
 * as ONE event per key and window, carrying the count: a retry storm adds one event per minute to
 * the chain instead of one per request, and the chain still says how many there were.
 *
 * Counting is per process (each replica writes its own event for the same key and window) and in
 * memory: counts of a window are written when it ends, when the process drains at shutdown
 * (SIGINT/SIGTERM), or lost with the process on a crash (kill -9). That bound is what the README
 * states. Writing goes through runInBackground, so a shutdown waits for it before the pool closes.
 */
import { onDrain, runInBackground } from '@/lib/platform/background';
import { appendAuditEvent } from './append';
import type { AuditEventInput } from './event';

export const DEFAULT_COUNT_WINDOW_MS = 60_000;
/** Distinct keys held at once; past it, new keys are counted in one overflow bucket per tenant and action. */
const MAX_BUCKETS = 10_000;
/** Distinct values one tally lists; the rest are summed up as `other`. */
const MAX_TALLY_VALUES = 20;

type Attributes = Record<string, string | number | boolean>;

export interface CountedEventInput {
  /** Occurrences with the same key in the same window are one event: put tenant, kind and subject in it. */
  key: string;
  /** How long a window lasts; windows are aligned to the clock (minutes by default). */
  windowMs?: number;
  /** The event as its first occurrence describes it. `count`, `first_seen` and `last_seen` are added. */
  event: AuditEventInput;
  /**
   * Values to tally per occurrence, e.g. `{ reason: 'expired' }` becomes `reason: "expired:3,revoked:1"`;
   * a list counts each of its values once.
   */
  tally?: Record<string, string | readonly string[]>;
  /** Amounts to add up per occurrence, e.g. `{ 'telemetry.items': 12 }`. */
  sums?: Record<string, number>;
}

interface Bucket {
  event: AuditEventInput;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** When the window ends and the event is due. */
  dueAt: number;
  tallies: Map<string, Map<string, number>>;
  sums: Map<string, number>;
}

interface CounterState {
  buckets: Map<string, Bucket>;
  timer: NodeJS.Timeout | null;
  timerDueAt: number;
}

// On globalThis like the other process-wide registries (Next's dev reloads share one).
const globalCounter = globalThis as typeof globalThis & { __gatehouseCountedEvents?: CounterState };

function state(): CounterState {
  if (!globalCounter.__gatehouseCountedEvents) {
    globalCounter.__gatehouseCountedEvents = { buckets: new Map(), timer: null, timerDueAt: 0 };
    onDrain('audit: counted events', () => {
      void flushCountedEvents({ all: true });
    });
  }
  return globalCounter.__gatehouseCountedEvents;
}

function overflowOf(input: CountedEventInput): CountedEventInput {
  const { event } = input;
  return {
    key: `overflow\u0000${event.tenant_id}\u0000${event.event_type}\u0000${event.action}`,
    windowMs: input.windowMs,
    // Nothing of one occurrence describes the others: only what they share is kept.
    event: { tenant_id: event.tenant_id, event_type: event.event_type, action: event.action, outcome: event.outcome, policy: event.policy, error: event.error, attributes: { overflow: true } },
  };
}

function add(bucket: Bucket, input: CountedEventInput, now: number): void {
  bucket.count += 1;
  bucket.lastSeen = now;
  for (const [name, tallied] of Object.entries(input.tally ?? {})) {
    const values = bucket.tallies.get(name) ?? new Map<string, number>();
    for (const value of typeof tallied === 'string' ? [tallied] : tallied) {
      const counted = values.has(value) || values.size < MAX_TALLY_VALUES ? value : 'other';
      values.set(counted, (values.get(counted) ?? 0) + 1);
    }
    bucket.tallies.set(name, values);
  }
  for (const [name, amount] of Object.entries(input.sums ?? {})) bucket.sums.set(name, (bucket.sums.get(name) ?? 0) + amount);
}

/** Counts one occurrence; its event is written when the window ends (never throws, never waits). */
export function countAuditEvent(input: CountedEventInput, now = Date.now()): void {
  const { buckets } = state();
  const windowMs = input.windowMs ?? DEFAULT_COUNT_WINDOW_MS;
  const windowStart = Math.floor(now / windowMs) * windowMs;
  const counted = buckets.size >= MAX_BUCKETS && !buckets.has(`${input.key}\u0000${windowStart}`) ? overflowOf(input) : input;
  const key = `${counted.key}\u0000${windowStart}`;
  let bucket = buckets.get(key);
  if (!bucket) {
    if (buckets.size >= MAX_BUCKETS + 1_000) return; // even the overflow buckets are full: a bounded loss, never unbounded memory
    bucket = { event: counted.event, count: 0, firstSeen: now, lastSeen: now, dueAt: windowStart + windowMs, tallies: new Map(), sums: new Map() };
    buckets.set(key, bucket);
    schedule(bucket.dueAt);
  }
  add(bucket, counted, now);
}

function tallyText(values: Map<string, number>): string {
  return [...values]
    .map(([value, count]) => `${value}:${count}`)
    .join(',')
    .slice(0, 4000);
}

/** The event one bucket stands for. */
function eventOf(bucket: Bucket): AuditEventInput {
  const attributes: Attributes = { ...(bucket.event.attributes ?? {}) };
  for (const [name, values] of bucket.tallies) attributes[name] = tallyText(values);
  for (const [name, amount] of bucket.sums) attributes[name] = amount;
  attributes.count = bucket.count;
  attributes.first_seen = new Date(bucket.firstSeen).toISOString();
  attributes.last_seen = new Date(bucket.lastSeen).toISOString();
  return { ...bucket.event, occurred_at: new Date(bucket.firstSeen), attributes };
}

function schedule(dueAt: number): void {
  const current = state();
  if (current.timer && current.timerDueAt <= dueAt) return;
  if (current.timer) clearTimeout(current.timer);
  current.timerDueAt = dueAt;
  // A little after the window ends, so occurrences at its last millisecond are in.
  current.timer = setTimeout(
    () => {
      current.timer = null;
      flushCountedEvents();
    },
    Math.max(0, dueAt - Date.now()) + 50,
  );
  current.timer.unref();
}

/**
 * Writes the events of every window that has ended (every window, open ones included, with
 * `all`: what a shutdown drain asks for), in the background. Resolves once they are committed.
 */
export function flushCountedEvents(options: { all?: boolean; now?: number } = {}): Promise<void> {
  const current = state();
  const now = options.now ?? Date.now();
  const due: Bucket[] = [];
  let nextDue = Infinity;
  for (const [key, bucket] of current.buckets) {
    if (options.all || bucket.dueAt <= now) {
      due.push(bucket);
      current.buckets.delete(key);
    } else nextDue = Math.min(nextDue, bucket.dueAt);
  }
  if (current.timer && (current.buckets.size === 0 || nextDue < current.timerDueAt)) {
    clearTimeout(current.timer);
    current.timer = null;
  }
  if (nextDue !== Infinity) schedule(nextDue);
  if (due.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    runInBackground('audit: writing counted events', async () => {
      try {
        const results = await Promise.allSettled(due.map((bucket) => appendAuditEvent(eventOf(bucket))));
        const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [{ bucket: due[index]!, reason: result.reason as unknown }] : []));
        for (const { bucket, reason } of failed) {
          console.error(`audit: ${bucket.count} × ${bucket.event.action} could not be recorded: ${reason instanceof Error ? reason.message : String(reason)}`);
        }
      } finally {
        resolve();
      }
    });
  });
}

/** Occurrences counted and not yet written (tests, diagnostics). */
export function pendingCountedEvents(): number {
  let pending = 0;
  for (const bucket of state().buckets.values()) pending += bucket.count;
  return pending;
}
