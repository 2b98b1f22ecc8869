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

/** What replaces an event too large to pass: `answer` in its place (or nothing), and whether the stream ends there. */
interface Replacement {
  answer: Uint8Array | null;
  end: boolean;
}

/** How much of a dropped event is kept to read its request id from. */
const HEAD_BYTES = 4096;

/**
 * The id of the JSON-RPC response an SSE event's head starts, when its top level names the id
 * before its result or error (the Python SDK's order; the TypeScript SDK's puts the id last,
 * beyond any head): a request of the upstream's (it has a method) or an unreadable head gives none.
 */
function answeredIdOf(head: Uint8Array): RequestId | undefined {
  const data = /^data: ?(.*)$/m.exec(new TextDecoder().decode(head))?.[1];
  const matched = data && /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*,\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"(?:result|error)"\s*:/.exec(data);
  if (!matched) return undefined;
  try {
    return JSON.parse(matched[1]!) as RequestId;
  } catch {
    return undefined;
  }
}

/**
 * Splits an SSE byte stream into whole events (each with its closing blank line, both bytes of a
 * CRLF included), holding at most `maxBytes` of the event in progress: a larger one is reported
 * and skipped, or replaced as `oversized` (given the event's head) says. An event
 * is passed on as soon as its blank line's CR arrives: a parser holds a trailing CR until it
 * knows whether an LF follows, so an LF held back for the next event would keep the last answer
 * of a closing stream from ever being read.
 */
function sseEvents(maxBytes: number, oversized: (head: Uint8Array) => Replacement): TransformStream<Uint8Array, Uint8Array> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let skipping = false;
  let ended = false;
  let atLineStart = true;
  let previous = -1;
  /** The last chunk ended with the CR of an event's blank line: an LF first in the next is that line's end, passed on (or dropped with a skipped event). */
  let crEnded: 'pass' | 'drop' | null = null;
  /** The event in progress (`last` its newest bytes) is too large: replaced, then skipped to its end or the stream ended. */
  const cut = (controller: TransformStreamDefaultController<Uint8Array>, last: Uint8Array): void => {
    const head = Buffer.concat([...held, last.subarray(0, HEAD_BYTES)]).subarray(0, HEAD_BYTES);
    held = [];
    heldBytes = 0;
    const { answer, end } = oversized(head);
    if (answer) controller.enqueue(answer);
    if (!end) {
      skipping = true;
      return;
    }
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
          cut(controller, piece);
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
      if (heldBytes + rest.byteLength > maxBytes) return cut(controller, rest);
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
 * answers no one request (the GET stream, the older HTTP+SSE transport) is dropped, and becomes
 * that error for the request it answers when its head names the request. Other bodies
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
        sseEvents(cap.maxBytes, (head) => {
          // A stream answering no one request (the GET stream, the HTTP+SSE transport's only one) goes on; its answer to a request still fails that request, if the head says which.
          const answered = requestId ?? answeredIdOf(head);
          cap.onOversized({ requestId: answered, url: href });
          return { answer: answered === undefined ? null : encoder.encode(`event: message\ndata: ${errorFor(answered)}\n\n`), end: requestId !== undefined };
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
