/**
 * One try of one upstream target: send the request, wait (up to the target's headers deadline) for
 * the answer's status and headers, and classify what happened. Before the headers, a failure may be
 * retried or failed over; once the upstream has answered 2xx the attempt is `committed` whatever
 * follows, because the upstream may already be generating (and billing) the answer: a body that
 * then stalls past the idle limit, or breaks, ends as an error to the client, never as a retry.
 */
import { anthropicErrorPayload } from '@/lib/gateway/errors';
import type { ReplyBody } from '@/lib/http/reply';
import type { AttemptRecord, CompletionSummary, DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { applyStreamFacts, CredentialError, TranslationError, type PreparedRequest, type StreamFacts, type UpstreamAdapter } from './adapter';
import { summaryFromMessage } from './anthropic/summary';
import { relayedResponseHeaders } from './headers';
import { postUpstream, type UpstreamResponse } from './http-client';
import { readBodyWithIdleLimit, UpstreamBodyError } from './read-body';
import { isRetryableStatus, retryAfterMs } from './retry';
import { guardStream } from './stream-guard';
import { deadlinesFor, upstreamTuning } from './tuning';
import { clientErrorFromUpstream, logUpstreamError, readUpstreamError, type ClientError } from './upstream-errors';

export type AttemptResult =
  | {
      kind: 'committed';
      /** The status the client gets (a 2xx, or 502/504 when the body failed after the upstream's 2xx). */
      status: number;
      /** The upstream's own status: always 2xx here. */
      upstreamStatus: number;
      /** Set when the body failed after the 2xx headers: how the attempt is recorded. */
      failedAfterHeaders?: Extract<AttemptRecord['outcome'], 'timeout' | 'server_error'>;
      headers: Headers;
      body: ReplyBody;
      completion: Promise<CompletionSummary>;
    }
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

/** A request whose headers have arrived; the client's signal still cancels it. */
export interface UpstreamCall {
  response: UpstreamResponse;
  /** Cuts the call (client gone, upstream stalled, an answer nobody will read); a no-op once it was read to its end. */
  cancel(reason?: Error): void;
}

export class UpstreamCallFailed extends Error {
  constructor(
    readonly timedOut: boolean,
    readonly cause: unknown,
  ) {
    super(timedOut ? 'upstream headers deadline passed' : 'upstream connection failed');
    this.name = 'UpstreamCallFailed';
  }
}

/**
 * Sends `prepared` and waits up to `headersMs` for the response headers; rethrows the client's
 * abort as is, and anything else (deadline included) as UpstreamCallFailed. The deadline ends with
 * the headers: the body is read under an idle limit instead (readBodyWithIdleLimit, guardStream).
 */
export async function callUpstream(prepared: PreparedRequest, signal: AbortSignal, headersMs: number): Promise<UpstreamCall> {
  signal.throwIfAborted();
  const exchange = postUpstream(prepared, signal);
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    exchange.cancel(new Error(`no response headers within ${headersMs} ms`));
  }, headersMs);
  try {
    return { response: await exchange.response, cancel: exchange.cancel };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new UpstreamCallFailed(timedOut, error);
  } finally {
    clearTimeout(deadline);
  }
}

/** What an error status means for failover, after the details are logged for the operator. */
export async function classifyErrorResponse(target: UpstreamTarget, response: UpstreamResponse, traceId: string): Promise<AttemptResult> {
  const details = await readUpstreamError(response, deadlinesFor(target, false).idleMs);
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

function failedConnection(error: UpstreamCallFailed | unknown): AttemptResult {
  const timedOut = error instanceof UpstreamCallFailed && error.timedOut;
  return { kind: 'failed', outcome: timedOut ? 'timeout' : 'connect_error', retryable: true, retryAfterMs: null, overloaded: false };
}

/**
 * A non-streaming answer that failed after the upstream's 2xx: an Anthropic error to the client
 * (504 when it went silent, 502 when it broke), recorded once, never retried.
 */
function brokenAnswer(upstreamStatus: number, error: unknown): AttemptResult {
  const timedOut = error instanceof UpstreamBodyError && error.timedOut;
  const message = timedOut ? `the upstream stopped sending its answer: ${error.message}` : 'the upstream answer could not be read to its end';
  const completion: CompletionSummary = { usage: null, stopReason: null, responseModel: null, responseId: null, content: [], error: { type: 'api_error', message }, timeToFirstByteMs: null };
  return {
    kind: 'committed',
    status: timedOut ? 504 : 502,
    upstreamStatus,
    failedAfterHeaders: timedOut ? 'timeout' : 'server_error',
    ...anthropicErrorPayload('api_error', message),
    completion: Promise.resolve(completion),
  };
}

/** A non-streaming 2xx: the whole body under the idle limit, translated to an Anthropic message. */
async function readMessage(call: UpstreamCall, input: DispatchInput, target: UpstreamTarget, adapter: UpstreamAdapter, idleMs: number, startedAt: number): Promise<AttemptResult> {
  const { response } = call;
  const headers = relayedResponseHeaders(response.headers);
  let bytes: Uint8Array;
  let summary: CompletionSummary;
  try {
    const raw = await readBodyWithIdleLimit(response.body, idleMs);
    const timeToFirstByteMs = Math.round(performance.now() - startedAt);
    let facts: StreamFacts;
    ({ bytes, facts } = adapter.translateMessage(raw, input, target));
    // A 2xx whose body is not JSON (a proxy's page, a truncated answer) is broken like one that
    // stalled: the upstream may have billed it, so it is neither retried nor left unrecorded.
    summary = applyStreamFacts(summaryFromMessage(JSON.parse(new TextDecoder().decode(bytes)), timeToFirstByteMs), facts);
  } catch (error) {
    if (input.signal.aborted) throw input.signal.reason;
    call.cancel(error instanceof Error ? error : new Error(String(error)));
    return brokenAnswer(response.status, error);
  }
  headers.set('content-type', 'application/json');
  return { kind: 'committed', status: response.status, upstreamStatus: response.status, headers, body: bytes, completion: Promise.resolve(summary) };
}

/** A streaming 2xx: committed at once; the guard relays it, with pings, under the idle limit. */
function relayStream(call: UpstreamCall, input: DispatchInput, target: UpstreamTarget, adapter: UpstreamAdapter, idleMs: number, startedAt: number): AttemptResult {
  const { response } = call;
  const headers = relayedResponseHeaders(response.headers);
  const facts: StreamFacts = { usageReported: true };
  const iterator = adapter.translateStream(response.body, input, facts, target)[Symbol.asyncIterator]();
  const guarded = guardStream({
    rest: iterator,
    facts,
    idleTimeoutMs: idleMs,
    pingIntervalMs: upstreamTuning().pingIntervalMs,
    startedAt,
    abortUpstream: (reason) => call.cancel(reason),
    clientSignal: input.signal,
  });
  headers.set('content-type', 'text/event-stream; charset=utf-8');
  headers.set('cache-control', 'no-cache');
  return { kind: 'committed', status: response.status, upstreamStatus: response.status, headers, ...guarded };
}

/** One Messages call to `target`, ending committed (the answer may flow), rejected or failed. */
export async function attemptMessages(input: DispatchInput, target: UpstreamTarget, adapter: UpstreamAdapter, startedAt: number): Promise<AttemptResult> {
  let prepared: PreparedRequest;
  try {
    prepared = await adapter.prepareMessages(input, target);
  } catch (error) {
    if (error instanceof TranslationError) return { kind: 'rejected', error: { status: 400, type: 'invalid_request_error', message: error.message } };
    if (error instanceof CredentialError) {
      // Like a 401 from the upstream: our side is misconfigured, the next target may still serve.
      upstreamTuning().logger.warn('upstream credential unavailable', { provider: target.provider, trace_id: input.caller.traceId, reason: error.message, cause: String(error.cause ?? '') });
      return { kind: 'failed', outcome: 'client_error', retryable: false, retryAfterMs: null, overloaded: false };
    }
    throw error;
  }

  const { headersMs, idleMs } = deadlinesFor(target, input.stream);
  let call: UpstreamCall;
  try {
    call = await callUpstream(prepared, input.signal, headersMs);
  } catch (error) {
    if (input.signal.aborted) throw error;
    return failedConnection(error);
  }

  if (call.response.ok && input.stream) return relayStream(call, input, target, adapter, idleMs, startedAt);
  try {
    if (call.response.ok) return await readMessage(call, input, target, adapter, idleMs, startedAt);
    return await classifyErrorResponse(target, call.response, input.caller.traceId);
  } catch (error) {
    if (input.signal.aborted) throw input.signal.reason;
    throw error;
  } finally {
    // Frees the connection of an answer we are not going to read (no-op once fully read).
    call.cancel();
  }
}
