/**
 * The client-facing side of a committed stream (the upstream answered 2xx: whatever happens next is
 * told to the client, never retried). It writes the adapter's Anthropic bytes to the client's
 * socket as they come: everything complete in one upstream read leaves in one write, nothing is
 * held across reads but the unfinished tail of an event (so the bytes are identical and no event
 * is ever cut in half), and a full socket pauses the upstream (backpressure). It makes sure the
 * client is never left hanging:
 * - `event: ping` when nothing has been sent for a while (long thinking pauses, slow upstreams);
 * - an upstream that dies, or goes silent past the idle limit (before its first event too), ends
 *   the stream with an Anthropic `event: error` instead of a hang or a truncated stream;
 * - a client that goes away, or stops reading past the idle limit, cancels the upstream call.
 * Either way `completion` settles with what was seen, so the audit record is always completed.
 */
import type { Writable } from 'node:stream';
import type { CompletionSummary } from '@/lib/gateway/contracts';
import { drained } from '@/lib/http/node-adapter';
import type { StreamedBody } from '@/lib/http/reply';
import { applyStreamFacts, type StreamFacts } from './adapter';
import { AnthropicStreamTap } from './anthropic/summary';
import { endOfLastEvent, errorFrame, PING_FRAME } from './sse';

export interface GuardOptions {
  /** The translated stream, from its first byte (the upstream has answered 2xx, nothing is read yet). */
  rest: AsyncIterator<Uint8Array>;
  facts: StreamFacts;
  /**
   * The longest silence of the upstream, the wait for its first bytes included; also the longest a
   * full client socket may take nothing (a reader that stopped is a reader that left).
   */
  idleTimeoutMs: number;
  pingIntervalMs: number;
  /** performance.now() when the request was dispatched, for the time to the first byte. */
  startedAt: number;
  /** Cancels the upstream request (client gone, or upstream stalled). */
  abortUpstream(reason: Error): void;
  /**
   * Aborted when the client went away. A Web caller's cancel reaches the upstream call before the
   * sink closes: the upstream read then fails, which is the client's doing, not a dead upstream.
   */
  clientSignal: AbortSignal;
}

export const STREAM_DIED_MESSAGE = 'upstream stream ended unexpectedly';
export const CLIENT_GONE = { type: 'client_disconnected', message: 'the client closed the connection before the answer ended' };

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

export function guardStream(options: GuardOptions): { body: StreamedBody; completion: Promise<CompletionSummary> } {
  const tap = new AnthropicStreamTap();
  let tail: Uint8Array = new Uint8Array(0);
  let lastUpstreamAt = Date.now();
  let lastSentAt = Date.now();
  let settled = false;
  let piped = false;
  let timeToFirstByteMs: number | null = null;
  let resolveCompletion: (summary: CompletionSummary) => void = () => {};
  const completion = new Promise<CompletionSummary>((resolve) => (resolveCompletion = resolve));

  const settle = (error?: { type: string; message: string }) => {
    if (settled) return;
    settled = true;
    resolveCompletion(applyStreamFacts(tap.summary(timeToFirstByteMs, error), options.facts));
  };

  async function pipeTo(sink: Writable): Promise<void> {
    if (piped) throw new Error('a guarded stream is written once');
    piped = true;
    /** False when the sink is full: the caller waits for 'drain' before reading on. */
    const send = (bytes: Uint8Array): boolean => {
      tap.feed(bytes);
      lastSentAt = Date.now();
      return sink.write(bytes);
    };
    const fail = (message: string, reason: unknown) => {
      options.abortUpstream(reason instanceof Error ? reason : new Error(String(reason)));
      // An upstream `event: error` already told the client; a second one would only confuse it.
      if (!tap.complete) send(errorFrame('api_error', message));
      sink.end();
      settle(tap.complete ? undefined : { type: 'api_error', message });
    };
    const finish = () => {
      if (tail.length > 0 && (tap.complete || holdsMessageStop(tail))) {
        send(tail);
        tail = new Uint8Array(0);
      }
      if (!tap.complete) {
        if (options.clientSignal.aborted) return dropClient();
        fail(STREAM_DIED_MESSAGE, new Error(STREAM_DIED_MESSAGE));
        return;
      }
      sink.end();
      settle();
    };
    /** Sends every complete event in `chunk` (plus the held-back tail) in one write; false when the sink is full. */
    const relay = (chunk: Uint8Array): boolean => {
      const combined = concat(tail, chunk);
      const end = endOfLastEvent(combined);
      tail = combined.slice(end);
      return end === 0 || send(combined.subarray(0, end));
    };
    // The client going away (the response closed before it was finished) cancels the upstream.
    const clientGone = () => {
      if (settled || sink.writableFinished) return;
      options.abortUpstream(new Error('client disconnected'));
      settle(tap.complete ? undefined : CLIENT_GONE);
    };
    /** A client that left without closing the sink (its signal aborted), or a full socket that took nothing for the idle limit. */
    const dropClient = () => {
      clientGone();
      sink.destroy();
    };

    // One watchdog per stream, not a timer per read: it fires at the deadline it was armed for
    // and re-arms when there was activity since (a timer may fire a millisecond early, so the
    // decision is by what happened since arming, not by re-reading the clock).
    /** Date.now() when the current wait for the client's 'drain' began; null when not waiting. */
    let waitingSince: number | null = null;
    /** Counts the waits for 'drain', so the watchdog knows the wait it was armed for is still on. */
    let waits = 0;
    let watchdog: NodeJS.Timeout;
    const arm = () => {
      const now = Date.now();
      if (waitingSince !== null) {
        const armedWait = waits;
        watchdog = setTimeout(() => {
          if (settled) return;
          if (waitingSince !== null && waits === armedWait) return dropClient();
          arm();
        }, Math.max(0, options.idleTimeoutMs - (now - waitingSince)));
        return;
      }
      const idleLeft = options.idleTimeoutMs - (now - lastUpstreamAt);
      const pingLeft = options.pingIntervalMs - (now - lastSentAt);
      const armedUpstreamAt = lastUpstreamAt;
      const armedSentAt = lastSentAt;
      const forIdle = idleLeft <= pingLeft;
      watchdog = setTimeout(() => {
        if (settled) return;
        if (waitingSince !== null) {
          // A slow reader is not a silent upstream: nothing is read while the socket is full. The
          // watchdog re-arms for the reader's own deadline.
          lastUpstreamAt = lastSentAt = Date.now();
        } else if (forIdle && lastUpstreamAt === armedUpstreamAt) {
          const message = `upstream stream stalled: no data for ${Math.round(options.idleTimeoutMs / 1000)} s`;
          fail(message, new Error(message));
          return;
        } else if (!forIdle && lastSentAt === armedSentAt) {
          send(PING_FRAME); // the held-back tail guarantees we are between events
        }
        arm();
      }, Math.max(0, Math.min(idleLeft, pingLeft)));
    };

    if (sink.destroyed) {
      clientGone();
      return;
    }
    sink.once('close', clientGone);
    arm();
    try {
      while (!settled) {
        let read: IteratorResult<Uint8Array>;
        try {
          read = await options.rest.next();
        } catch (error) {
          if (settled) return;
          if (options.clientSignal.aborted) dropClient();
          else fail(STREAM_DIED_MESSAGE, error);
          return;
        }
        if (settled) return; // the client went away, or the upstream stalled, while we waited
        if (read.done) {
          finish();
          return;
        }
        lastUpstreamAt = Date.now();
        if (timeToFirstByteMs === null && read.value.length > 0) timeToFirstByteMs = Math.round(performance.now() - options.startedAt);
        if (!relay(read.value)) {
          waitingSince = Date.now();
          waits++;
          await drained(sink);
          waitingSince = null;
          lastUpstreamAt = Date.now();
          // The watchdog was armed for the reader's deadline: pings and the stall check start again now.
          clearTimeout(watchdog!);
          if (!settled) arm();
        }
      }
    } finally {
      clearTimeout(watchdog!);
      sink.off('close', clientGone);
    }
  }

  return { completion, body: { pipeTo } };
}
