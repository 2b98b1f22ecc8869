/**
 * Upstream fetches whose answers cannot grow Gatehouse's memory without bound: an MCP server is
 * someone else's code, and the SDK client reads whatever it is sent (a JSON body whole, an SSE
 * event whole) before looking at it.
 *
 *   cappedFetch          every response body of one short job together (the registry's health
 *                        check: initialize and every tools/list page)
 *   messageCappedFetch   each message of a long-lived session (the proxy): one JSON body, or one
 *                        SSE event (a stream of many small notifications may run for hours)
 */
import type { UpstreamFetch } from '@/lib/platform/outbound/upstream-fetch';

/**
 * Counts the bytes passing into `read` (shared by every body of one cappedFetch) and errors the
 * stream past `maxBytes`.
 */
function byteCap(maxBytes: number, read = { bytes: 0 }): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      read.bytes += chunk.byteLength;
      if (read.bytes > maxBytes) controller.error(new Error(`the server sent more than ${maxBytes} bytes`));
      else controller.enqueue(chunk);
    },
  });
}

/** `fetch` whose response bodies together may not pass `maxBytes`: the stream errors beyond it. */
export function cappedFetch(fetch: UpstreamFetch, maxBytes: number): UpstreamFetch {
  const read = { bytes: 0 };
  return async (url, init) => {
    const response = await fetch(url, init);
    if (!response.body) return response;
    const counted = response.body.pipeThrough(byteCap(maxBytes, read));
    return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

export interface MessageCap {
  maxBytes: number;
  /** The JSON-RPC error that answers a request whose answer was cut off. */
  error: { code: number; message: string };
  /** Told of every message cut off: `requestId` when a request's answer became `error`, else dropped from a stream. */
  onOversized(cut: { requestId?: string | number; url: string }): void;
}

type RequestId = string | number;

/** The JSON-RPC request id a POST carries (the SDK posts one message per request), if it is a request. */
function postedRequestId(init: RequestInit | undefined): RequestId | undefined {
  if (init?.method !== 'POST' || typeof init.body !== 'string') return undefined;
  try {
    const message = JSON.parse(init.body) as { id?: unknown; method?: unknown };
    if (typeof message.method === 'string' && (typeof message.id === 'string' || typeof message.id === 'number')) return message.id;
  } catch {
    // Not JSON: nothing to answer for.
  }
  return undefined;
}

const CR = 0x0d;
const LF = 0x0a;
const LF_ONLY = Uint8Array.of(LF);

/**
 * Splits an SSE byte stream into whole events (each with its closing blank line, both bytes of a
 * CRLF included), holding at most `maxBytes` of the event in progress: a larger one is reported
 * and skipped (or, for a request's stream, replaced by `answer` and the stream ended). An event
 * is passed on as soon as its blank line's CR arrives: a parser holds a trailing CR until it
 * knows whether an LF follows, so an LF held back for the next event would keep the last answer
 * of a closing stream from ever being read.
 */
function sseEvents(maxBytes: number, oversized: () => Uint8Array | null): TransformStream<Uint8Array, Uint8Array> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let skipping = false;
  let ended = false;
  let atLineStart = true;
  let previous = -1;
  /** The last chunk ended with the CR of an event's blank line: an LF first in the next is that line's end, passed on (or dropped with a skipped event). */
  let crEnded: 'pass' | 'drop' | null = null;
  /** The event in progress is too large: answered (and the stream ended) or skipped to its end. */
  const cut = (controller: TransformStreamDefaultController<Uint8Array>): void => {
    held = [];
    heldBytes = 0;
    const answer = oversized();
    if (!answer) {
      skipping = true;
      return;
    }
    controller.enqueue(answer);
    controller.terminate();
    ended = true;
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (ended) return;
      let start = 0;
      if (crEnded && chunk[0] === LF) {
        if (crEnded === 'pass') controller.enqueue(LF_ONLY);
        start = 1;
        previous = LF;
      }
      crEnded = null;
      for (let index = start; index < chunk.byteLength; index += 1) {
        const byte = chunk[index]!;
        // CR, LF and CRLF each end a line; a line ending where a line starts is the blank line ending an event.
        const terminator = byte === CR || (byte === LF && previous !== CR);
        previous = byte;
        if (!terminator) {
          if (byte !== LF) atLineStart = false;
          continue;
        }
        if (!atLineStart) {
          atLineStart = true;
          continue;
        }
        // The blank line's CRLF goes whole with its event; a CR last in the chunk waits to see.
        let end = index + 1;
        const lastCr = byte === CR && end === chunk.byteLength;
        if (byte === CR && chunk[end] === LF) {
          end += 1;
          index += 1;
          previous = LF;
        }
        const piece = chunk.subarray(start, end);
        start = end;
        if (skipping) {
          skipping = false;
          if (lastCr) crEnded = 'drop';
          continue;
        }
        if (heldBytes + piece.byteLength > maxBytes) {
          cut(controller);
          if (ended) return;
          skipping = false;
          if (lastCr) crEnded = 'drop';
          continue;
        }
        controller.enqueue(Buffer.concat([...held, piece], heldBytes + piece.byteLength));
        held = [];
        heldBytes = 0;
        if (lastCr) crEnded = 'pass';
      }
      if (skipping || start >= chunk.byteLength) return;
      const rest = chunk.subarray(start);
      if (heldBytes + rest.byteLength > maxBytes) return cut(controller);
      // Copied: the producer may reuse its buffer.
      held.push(rest.slice());
      heldBytes += rest.byteLength;
    },
    flush(controller) {
      // What followed the last blank line (an unfinished event, a comment): the parser decides what it is worth.
      if (!ended && !skipping && heldBytes > 0) controller.enqueue(Buffer.concat(held, heldBytes));
    },
  });
}

/**
 * `fetch` for an MCP client session where no one message may pass `cap.maxBytes`. SSE events are
 * passed on whole, as each completes; the answer to a POSTed request whose message is too large
 * becomes `cap.error` for that request (so the caller gets a JSON-RPC error at once rather than a
 * stream that broke off), and reading the upstream stops; a too large event on a stream that
 * answers no one request (the GET stream, the older HTTP+SSE transport) is dropped. Other bodies
 * (errors) end in a stream error past the cap.
 */
export function messageCappedFetch(fetch: UpstreamFetch, cap: MessageCap): UpstreamFetch {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (!response.body) return response;
    const requestId = postedRequestId(init);
    const href = String(url);
    const errorFor = (id: RequestId) => JSON.stringify({ jsonrpc: '2.0', id, error: cap.error });
    const type = response.headers.get('content-type') ?? '';
    const encoder = new TextEncoder();
    let body: ReadableStream<Uint8Array>;
    if (response.ok && type.includes('text/event-stream')) {
      body = response.body.pipeThrough(
        sseEvents(cap.maxBytes, () => {
          cap.onOversized({ requestId, url: href });
          return requestId === undefined ? null : encoder.encode(`event: message\ndata: ${errorFor(requestId)}\n\n`);
        }),
      );
    } else if (response.ok && type.includes('application/json') && requestId !== undefined) {
      // Read whole by the SDK anyway: held until complete, or replaced once too large.
      let held: Uint8Array[] = [];
      let heldBytes = 0;
      body = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            heldBytes += chunk.byteLength;
            if (heldBytes <= cap.maxBytes) {
              held.push(chunk.slice());
              return;
            }
            held = [];
            cap.onOversized({ requestId, url: href });
            controller.enqueue(encoder.encode(errorFor(requestId)));
            controller.terminate();
          },
          flush(controller) {
            if (held.length) controller.enqueue(Buffer.concat(held, heldBytes));
          },
        }),
      );
    } else {
      // Errors and the like: read whole by the SDK for its message, which a stream that errors leaves out.
      body = response.body.pipeThrough(byteCap(cap.maxBytes));
    }
    const headers = new Headers(response.headers);
    // The body may differ from what the upstream sized.
    headers.delete('content-length');
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
  };
}
