/**
 * An answer the Node-native data plane writes straight onto the ServerResponse: status and headers
 * in one `writeHead`, a whole body in the same write, or a stream written by its producer with
 * backpressure. Endpoints that build a Web `Response` (errors from shared helpers, small JSON
 * documents) are still sent as before (sendWebResponse); a DirectReply is turned into a `Response`
 * only for Web callers (Next's route files, tests).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { nodeDataPlaneRequest, type DataPlaneRequest } from './data-plane-request';
import { handlerFailure, sendWebResponse } from './node-adapter';

/**
 * A body produced while it is sent (server-sent events). `pipeTo` writes it to `sink` as it comes,
 * waiting for 'drain' when the sink is full, and ends the sink when the body ends. A sink that
 * closes before that means the reader went away: the producer stops (and cancels its source).
 */
export interface StreamedBody {
  pipeTo(sink: Writable): Promise<void>;
}

export type ReplyBody = Uint8Array | StreamedBody;

export class DirectReply {
  constructor(
    readonly status: number,
    /** Lower-case names; callers on the way out (trace ids, rate-limit headers) add theirs here. */
    readonly headers: Record<string, string>,
    readonly body: ReplyBody | null,
  ) {}
}

/** What a data-plane endpoint answers: a reply written natively, or a Web response. */
export type DataPlaneReply = DirectReply | Response;

/** A data-plane endpoint written for the Node-native path (one per protocol wrapper, e.g. the gateway). */
export type NodeHandler = (request: DataPlaneRequest) => Promise<DataPlaneReply>;

/** Headers as a plain record (lower-case names), for a DirectReply. */
export function headerRecord(headers: { forEach(each: (value: string, name: string) => void): void }): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

/** Writes `reply` on `res`; resolves once the body has been written (or the client left). */
export async function sendReply(res: ServerResponse, reply: DataPlaneReply, method: string): Promise<void> {
  if (reply instanceof Response) return sendWebResponse(res, reply, method);
  const { body } = reply;
  if (body === null || body instanceof Uint8Array) {
    // Status line, headers and body leave in one write.
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(body?.byteLength ?? 0) });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }
  // Status and headers are set, not written (writeHead would mark them sent at once): the first
  // chunk of the body carries them in its own write. An event stream may stay quiet for a while,
  // so if nothing was written within this turn of the event loop they leave on their own.
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  setImmediate(() => {
    if (!res.headersSent && !res.destroyed) res.flushHeaders();
  });
  await body.pipeTo(res);
}

/** A streamed body as a Web stream (for a Web caller): cancelling it is the reader going away. */
export function webStreamOf(body: StreamedBody): ReadableStream<Uint8Array> {
  const sink = new PassThrough();
  body.pipeTo(sink).catch((error: unknown) => sink.destroy(error instanceof Error ? error : new Error(String(error))));
  return Readable.toWeb(sink) as ReadableStream<Uint8Array>;
}

/** The reply as a Web `Response`, for callers that speak Fetch (Next's route files, tests). */
export function toWebResponse(reply: DataPlaneReply): Response {
  if (reply instanceof Response) return reply;
  const { body } = reply;
  // A copy of the bytes: Fetch's BodyInit wants an ArrayBuffer-backed view.
  const webBody = body === null ? null : body instanceof Uint8Array ? new Uint8Array(body) : webStreamOf(body);
  return new Response(webBody, { status: reply.status, headers: reply.headers });
}

/** Runs a Node-native handler for a Node request; a handler that throws is answered as serveWithWebHandler does. */
export async function serveWithNodeHandler(req: IncomingMessage, res: ServerResponse, handler: NodeHandler): Promise<void> {
  let reply: DataPlaneReply;
  try {
    reply = await handler(nodeDataPlaneRequest(req, res));
  } catch (error) {
    reply = handlerFailure(req, error);
  }
  await sendReply(res, reply, req.method ?? 'GET');
}
