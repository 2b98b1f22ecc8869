/**
 * One try of one upstream target: send the request, wait (up to the target's deadline) for the
 * answer's headers and first bytes, and classify what happened. Nothing reaches the client until
 * an attempt is `committed`, which is what makes failover before the first byte possible.
 */
import type { AttemptRecord, CompletionSummary, DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { TranslationError, type PreparedRequest, type StreamFacts, type UpstreamAdapter } from './adapter';
import { summaryFromMessage } from './anthropic/summary';
import { relayedResponseHeaders } from './headers';
import { isRetryableStatus, retryAfterMs } from './retry';
import { guardStream } from './stream-guard';
import { upstreamTuning } from './tuning';
import { clientErrorFromUpstream, logUpstreamError, readUpstreamError, type ClientError } from './upstream-errors';

export type AttemptResult =
  | { kind: 'committed'; status: number; headers: Headers; body: ReadableStream<Uint8Array>; completion: Promise<CompletionSummary> }
  /** The upstream (or the translation) refused the request itself: trying elsewhere would not help. */
  | { kind: 'rejected'; error: ClientError }
  | {
      kind: 'failed';
      outcome: Exclude<AttemptRecord['outcome'], 'success' | 'circuit_open'>;
      status?: number;
      /** Worth trying this target again (false: go straight to the next target). */
      retryable: boolean;
      retryAfterMs: number | null;
      /** 429 / 529: the upstream is at capacity rather than broken. */
      overloaded: boolean;
    };

/** A request in flight, bounded by a deadline and by the client's own signal. */
export interface UpstreamCall {
  response: Response;
  controller: AbortController;
  timedOut(): boolean;
  /** Stop the deadline (the answer has started); the client's signal still cancels the call. */
  clearDeadline(): void;
  /** Detach from the client's signal (the call is over). */
  release(): void;
}

export class UpstreamCallFailed extends Error {
  constructor(
    readonly timedOut: boolean,
    readonly cause: unknown,
  ) {
    super(timedOut ? 'upstream deadline passed' : 'upstream connection failed');
    this.name = 'UpstreamCallFailed';
  }
}

/** Sends `prepared`; rethrows the client's abort as is, and anything else as UpstreamCallFailed. */
export async function callUpstream(prepared: PreparedRequest, signal: AbortSignal, timeoutMs: number): Promise<UpstreamCall> {
  signal.throwIfAborted();
  const controller = new AbortController();
  const onClientAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onClientAbort, { once: true });
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const release = () => {
    clearTimeout(deadline);
    signal.removeEventListener('abort', onClientAbort);
  };
  try {
    const response = await fetch(prepared.url, { method: 'POST', headers: prepared.headers, body: prepared.body, signal: controller.signal, redirect: 'manual' });
    return { response, controller, timedOut: () => timedOut, clearDeadline: () => clearTimeout(deadline), release };
  } catch (error) {
    release();
    if (signal.aborted) throw signal.reason;
    throw new UpstreamCallFailed(timedOut, error);
  }
}

/** What an error status means for failover, after the details are logged for the operator. */
export async function classifyErrorResponse(target: UpstreamTarget, response: Response, traceId: string): Promise<AttemptResult> {
  const details = await readUpstreamError(response);
  logUpstreamError(target, details, traceId);
  const { status } = response;
  if (status < 400) {
    // A redirect (we do not follow them: the credential must not go elsewhere) is a misconfigured base_url.
    return { kind: 'failed', outcome: 'server_error', status, retryable: false, retryAfterMs: null, overloaded: false };
  }
  if (status === 401 || status === 403) {
    // Our credential for this provider is wrong: the client's token is fine, so never answer it
    // with an authentication error (Claude Code would send the user to sign in again).
    return { kind: 'failed', outcome: 'client_error', status, retryable: false, retryAfterMs: null, overloaded: false };
  }
  if (isRetryableStatus(status)) {
    return {
      kind: 'failed',
      outcome: status === 429 ? 'rate_limited' : status === 408 ? 'timeout' : 'server_error',
      status,
      retryable: true,
      retryAfterMs: retryAfterMs(response.headers),
      overloaded: status === 429 || status === 529,
    };
  }
  return { kind: 'rejected', error: clientErrorFromUpstream(details) };
}

function failedConnection(error: UpstreamCallFailed | unknown, afterHeaders: boolean): AttemptResult {
  const timedOut = error instanceof UpstreamCallFailed && error.timedOut;
  return { kind: 'failed', outcome: timedOut ? 'timeout' : afterHeaders ? 'server_error' : 'connect_error', retryable: true, retryAfterMs: null, overloaded: false };
}

function bodyOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** One Messages call to `target`, ending committed (the answer may flow), rejected or failed. */
export async function attemptMessages(input: DispatchInput, target: UpstreamTarget, adapter: UpstreamAdapter, startedAt: number): Promise<AttemptResult> {
  let prepared: PreparedRequest;
  try {
    prepared = adapter.prepareMessages(input, target);
  } catch (error) {
    if (error instanceof TranslationError) return { kind: 'rejected', error: { status: 400, type: 'invalid_request_error', message: error.message } };
    throw error;
  }

  const tuning = upstreamTuning();
  const timeoutMs = target.timeoutMs ?? tuning.defaultTimeoutMs;
  let call: UpstreamCall;
  try {
    call = await callUpstream(prepared, input.signal, timeoutMs);
  } catch (error) {
    if (input.signal.aborted) throw error;
    return failedConnection(error, false);
  }

  let handedOver = false;
  try {
    const { response } = call;
    if (!response.ok) return await classifyErrorResponse(target, response, input.caller.traceId);

    const headers = relayedResponseHeaders(response.headers);
    if (!input.stream) {
      const raw = new Uint8Array(await response.arrayBuffer());
      const timeToFirstByteMs = Math.round(performance.now() - startedAt);
      const { bytes, facts } = adapter.translateMessage(raw, input);
      const summary = summaryFromMessage(JSON.parse(new TextDecoder().decode(bytes)), timeToFirstByteMs);
      if (!facts.usageReported) summary.usage = null;
      headers.set('content-type', 'application/json');
      return { kind: 'committed', status: response.status, headers, body: bodyOf(bytes), completion: Promise.resolve(summary) };
    }

    if (!response.body) return failedConnection(null, true);
    const facts: StreamFacts = { usageReported: true };
    const iterator = adapter.translateStream(response.body, input, facts)[Symbol.asyncIterator]();
    let first: Uint8Array | null = null;
    while (first === null) {
      const next = await iterator.next();
      if (next.done) return failedConnection(null, true); // 200 and then nothing at all
      if (next.value.length > 0) first = next.value;
    }
    call.clearDeadline();
    handedOver = true;
    const guarded = guardStream({
      first,
      rest: iterator,
      facts,
      idleTimeoutMs: timeoutMs,
      pingIntervalMs: tuning.pingIntervalMs,
      timeToFirstByteMs: Math.round(performance.now() - startedAt),
      clientSignal: input.signal,
      abortUpstream: (reason) => call.controller.abort(reason),
      onSettled: () => call.release(),
    });
    headers.set('content-type', 'text/event-stream; charset=utf-8');
    headers.set('cache-control', 'no-cache');
    return { kind: 'committed', status: response.status, headers, ...guarded };
  } catch (error) {
    if (input.signal.aborted) throw input.signal.reason;
    return failedConnection(call.timedOut() ? new UpstreamCallFailed(true, error) : error, true);
  } finally {
    if (!handedOver) {
      call.release();
      // Frees the connection of an answer we are not going to read (no-op once fully read).
      call.controller.abort();
    }
  }
}
