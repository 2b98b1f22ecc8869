/**
 * The client-facing side of a committed stream (the upstream answered 2xx: whatever happens next is
 * told to the client, never retried). It relays the adapter's Anthropic bytes as they
 * come (only holding back the unfinished tail of an event, so the bytes are identical and no event
 * is ever cut in half), and makes sure the client is never left hanging:
 * - `event: ping` when nothing has been sent for a while (long thinking pauses, slow upstreams);
 * - an upstream that dies, or goes silent past the idle limit (before its first event too), ends
 *   the stream with an Anthropic `event: error` instead of a hang or a truncated stream;
 * - a client that goes away cancels the upstream call.
 * Either way `completion` settles with what was seen, so the audit record is always completed.
 */
import type { CompletionSummary } from '@/lib/gateway/contracts';
import { applyStreamFacts, type StreamFacts } from './adapter';
import { AnthropicStreamTap } from './anthropic/summary';
import { endOfLastEvent, errorFrame, PING_FRAME } from './sse';

export interface GuardOptions {
  /** The translated stream, from its first byte (the upstream has answered 2xx, nothing is read yet). */
  rest: AsyncIterator<Uint8Array>;
  facts: StreamFacts;
  /** The longest silence of the upstream, the wait for its first bytes included. */
  idleTimeoutMs: number;
  pingIntervalMs: number;
  /** performance.now() when the request was dispatched, for the time to the first byte. */
  startedAt: number;
  /** The client's request signal: its abort means nobody is listening any more. */
  clientSignal: AbortSignal;
  /** Cancels the upstream request (client gone, or upstream stalled). */
  abortUpstream(reason: unknown): void;
  /** Called once, when the stream is over for any reason. */
  onSettled?(): void;
}

export const STREAM_DIED_MESSAGE = 'upstream stream ended unexpectedly';
export const CLIENT_GONE = { type: 'client_disconnected', message: 'the client closed the connection before the answer ended' };

type Raced<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'timeout' };

function race<T>(promise: Promise<T>, ms: number): Promise<Raced<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'timeout' }), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ kind: 'value', value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ kind: 'error', error });
      },
    );
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Whether `tail` (which starts at an event boundary) holds the final `message_stop` event. */
function holdsMessageStop(tail: Uint8Array): boolean {
  const probe = new AnthropicStreamTap();
  probe.feed(concat(tail, new TextEncoder().encode('\n\n')));
  return probe.complete && probe.summary(null).error === undefined;
}

export function guardStream(options: GuardOptions): { body: ReadableStream<Uint8Array>; completion: Promise<CompletionSummary> } {
  const tap = new AnthropicStreamTap();
  let tail: Uint8Array = new Uint8Array(0);
  let pending: Promise<IteratorResult<Uint8Array>> | null = null;
  let lastUpstreamAt = Date.now();
  let lastSentAt = Date.now();
  let settled = false;
  let timeToFirstByteMs: number | null = null;
  let resolveCompletion: (summary: CompletionSummary) => void = () => {};
  const completion = new Promise<CompletionSummary>((resolve) => (resolveCompletion = resolve));

  const settle = (error?: { type: string; message: string }) => {
    if (settled) return;
    settled = true;
    pending?.catch(() => {});
    resolveCompletion(applyStreamFacts(tap.summary(timeToFirstByteMs, error), options.facts));
    options.onSettled?.();
  };

  const send = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    tap.feed(bytes);
    controller.enqueue(bytes);
    lastSentAt = Date.now();
  };

  /** Sends every complete event in `chunk` (plus the held-back tail); returns whether anything went out. */
  const relay = (controller: ReadableStreamDefaultController<Uint8Array>, chunk: Uint8Array): boolean => {
    const combined = concat(tail, chunk);
    const end = endOfLastEvent(combined);
    tail = combined.slice(end);
    if (end === 0) return false;
    send(controller, combined.subarray(0, end));
    return true;
  };

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, message: string, reason: unknown) => {
    options.abortUpstream(reason);
    // An upstream `event: error` already told the client; a second one would only confuse it.
    if (!tap.complete) send(controller, errorFrame('api_error', message));
    controller.close();
    settle(tap.complete ? undefined : { type: 'api_error', message });
  };

  const end = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (tail.length > 0 && (tap.complete || holdsMessageStop(tail))) {
      send(controller, tail);
      tail = new Uint8Array(0);
    }
    if (!tap.complete) {
      fail(controller, STREAM_DIED_MESSAGE, new Error(STREAM_DIED_MESSAGE));
      return;
    }
    controller.close();
    settle();
  };

  return {
    completion,
    body: new ReadableStream<Uint8Array>({
      async pull(controller) {
        while (!settled) {
          pending ??= options.rest.next();
          const now = Date.now();
          const idleLeft = options.idleTimeoutMs - (now - lastUpstreamAt);
          const pingLeft = options.pingIntervalMs - (now - lastSentAt);
          const raced = await race(pending, Math.max(0, Math.min(idleLeft, pingLeft)));
          if (settled) return; // the client went away while we waited
          if (raced.kind === 'timeout') {
            // Decided by which deadline the wait was for, not by re-reading the clock: a timer may
            // fire a millisecond early, which would turn a stall into one more ping.
            if (idleLeft <= pingLeft) {
              const message = `upstream stream stalled: no data for ${Math.round(options.idleTimeoutMs / 1000)} s`;
              fail(controller, message, new Error(message));
              return;
            }
            send(controller, PING_FRAME); // the held-back tail guarantees we are between events
            return;
          }
          pending = null;
          if (raced.kind === 'error') {
            if (options.clientSignal.aborted) {
              controller.error(raced.error);
              settle(tap.complete ? undefined : CLIENT_GONE);
              return;
            }
            fail(controller, STREAM_DIED_MESSAGE, raced.error);
            return;
          }
          if (raced.value.done) {
            end(controller);
            return;
          }
          lastUpstreamAt = Date.now();
          if (timeToFirstByteMs === null && raced.value.value.length > 0) timeToFirstByteMs = Math.round(performance.now() - options.startedAt);
          if (relay(controller, raced.value.value)) return;
        }
      },
      cancel(reason) {
        options.abortUpstream(reason);
        settle(tap.complete ? undefined : CLIENT_GONE);
      },
    }),
  };
}
