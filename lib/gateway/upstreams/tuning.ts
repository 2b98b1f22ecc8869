import type { UpstreamTarget } from '@/lib/gateway/contracts';

/**
 * Knobs of the upstream side that are not per provider (per-provider ones live in gatehouse.yaml).
 * Defaults suit production; tests shrink the timings so failure paths run in milliseconds.
 */
export interface UpstreamLogger {
  warn(message: string, details?: Record<string, unknown>): void;
}

export interface UpstreamTuning {
  /** Without a byte from the upstream for this long, send the client `event: ping`. */
  pingIntervalMs: number;
  /** Used when a target has no `timeoutMs`: the deadline to the response headers (streaming, count_tokens). */
  defaultTimeoutMs: number;
  /** Used when a target has no `nonStreamingTimeoutMs`: the headers deadline of a non-streaming request. */
  defaultNonStreamingTimeoutMs: number;
  /** Used when a target has neither `idleTimeoutMs` nor `timeoutMs`: the longest silence in a body after 2xx. */
  defaultIdleTimeoutMs: number;
  /** Used when a target has no `maxRetries`. */
  defaultMaxRetries: number;
  /** First retry waits up to this (full jitter), doubling per retry… */
  retryBaseDelayMs: number;
  /** …up to this. */
  retryMaxDelayMs: number;
  /** A `retry-after` longer than this is not waited for on this target: fail over instead. */
  retryAfterCapMs: number;
  /** Consecutive failures of one provider+model that open its circuit… */
  breakerFailureThreshold: number;
  /** …for this long, after which one probe request is let through. */
  breakerCooldownMs: number;
  /** Where upstream error details go (they are kept from the client). */
  logger: UpstreamLogger;
}

const defaults: UpstreamTuning = {
  pingIntervalMs: 10_000,
  defaultTimeoutMs: 60_000,
  defaultNonStreamingTimeoutMs: 600_000,
  defaultIdleTimeoutMs: 60_000,
  defaultMaxRetries: 2,
  retryBaseDelayMs: 250,
  retryMaxDelayMs: 4_000,
  retryAfterCapMs: 10_000,
  breakerFailureThreshold: 5,
  breakerCooldownMs: 30_000,
  logger: {
    warn(message, details) {
      console.warn(`[gateway/upstreams] ${message}`, details ?? '');
    },
  },
};

let current: UpstreamTuning = { ...defaults };

export function upstreamTuning(): UpstreamTuning {
  return current;
}

/** Overrides some knobs (tests, or the server at start-up); returns the previous values. */
export function tuneUpstreams(changes: Partial<UpstreamTuning>): UpstreamTuning {
  const previous = current;
  current = { ...current, ...changes };
  return previous;
}

/** How long to wait for a target's response headers, and for each piece of its body after them. */
export function deadlinesFor(target: UpstreamTarget, stream: boolean): { headersMs: number; idleMs: number } {
  const tuning = upstreamTuning();
  const headersMs = target.timeoutMs ?? tuning.defaultTimeoutMs;
  return {
    headersMs: stream ? headersMs : Math.max(headersMs, target.nonStreamingTimeoutMs ?? tuning.defaultNonStreamingTimeoutMs),
    idleMs: target.idleTimeoutMs ?? target.timeoutMs ?? tuning.defaultIdleTimeoutMs,
  };
}

export function resetUpstreamTuning(): void {
  current = { ...defaults };
}
