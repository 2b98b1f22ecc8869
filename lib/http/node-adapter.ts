import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';

/** A framework-independent HTTP handler: the shape every data-plane endpoint is written in. */
export type WebHandler = (request: Request) => Promise<Response>;

/** Methods whose request body is never read (as a Web Request would not carry one). */
export const BODYLESS_METHODS = new Set(['GET', 'HEAD']);

/**
 * The origin a request was addressed to. Only the Host header is used: forwarded headers are
 * client-controlled unless a trusted proxy rewrites them, and nothing here needs the public URL.
 */
function requestUrl(req: IncomingMessage): URL {
  const encrypted = 'encrypted' in req.socket && req.socket.encrypted === true;
  const host = req.headers.host ?? 'localhost';
  return new URL(req.url ?? '/', `${encrypted ? 'https' : 'http'}://${host}`);
}

function requestHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  // rawHeaders keeps repeated headers apart; `req.headers` would have joined or dropped them.
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (name.startsWith(':')) continue; // HTTP/2 pseudo-headers are not headers in the Fetch sense
    headers.append(name, req.rawHeaders[i + 1] as string);
  }
  addPeerAddress(req, (name, peer) => headers.append(name, peer));
  return headers;
}

/**
 * Adds the peer's address to the request's headers (through `append`) as the last
 * `x-forwarded-for` entry, after everything the client sent, where nothing it sends can reach
 * (see clientIp()).
 */
export function addPeerAddress(req: IncomingMessage, append: (name: 'x-forwarded-for', peer: string) => void): void {
  if (req.socket.remoteAddress) append('x-forwarded-for', req.socket.remoteAddress);
}

/** The same for requests handed to Next.js, which reads the parsed `req.headers`. */
export function appendPeerAddress(req: IncomingMessage): void {
  addPeerAddress(req, (name, peer) => {
    const existing = req.headers[name];
    req.headers[name] = existing ? `${existing}, ${peer}` : peer;
  });
}

/**
 * The client stopped sending the request body before it was complete (closed the connection,
 * reset it, or timed out mid-upload). It is the client's doing, so it is answered 400, not 500.
 */
export class IncompleteRequestBodyError extends Error {
  override name = 'IncompleteRequestBodyError';

  constructor(options: { cause: unknown }) {
    super('the client closed the connection before the request body was complete', options);
  }
}

/**
 * The request body as a Web stream. Any failure of the socket while reading it becomes an
 * IncompleteRequestBodyError, so handlers (and their error maps) can tell a client that left
 * mid-upload from a failure of their own.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  const chunks = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      } catch (error) {
        controller.error(new IncompleteRequestBodyError({ cause: error }));
      }
    },
    async cancel() {
      // Destroys the request stream: nobody is going to read the rest.
      await chunks.return?.();
    },
  });
}

/**
 * Wraps a Node request as a Web `Request` without reading its body: the body is the live socket
 * stream, and the signal aborts as soon as the client goes away before the response is finished.
 */
export function toWebRequest(req: IncomingMessage, res: ServerResponse): Request {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = {
    method,
    headers: requestHeaders(req),
    signal: controller.signal,
  };
  if (!BODYLESS_METHODS.has(method)) {
    init.body = bodyStream(req);
    // Required by the Fetch spec for a streamed request body.
    init.duplex = 'half';
  }
  return new Request(requestUrl(req), init);
}

/**
 * Writes a Web `Response` to a Node response, chunk by chunk as the body produces them (so
 * server-sent events reach the client immediately) and with backpressure. A client that
 * disconnects, before the body's first chunk or during it, cancels the Web body stream.
 */
export async function sendWebResponse(res: ServerResponse, response: Response, method = 'GET'): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  const setCookies = response.headers.getSetCookie();
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value);
  });
  if (setCookies.length > 0) res.setHeader('set-cookie', setCookies);

  if (!response.body || method === 'HEAD') {
    await response.body?.cancel();
    res.end();
    return;
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (contentType.startsWith('application/json')) {
    // A JSON answer is one document the client reads whole (and the gateway has read whole
    // from its upstream): sent with its length in one write, not as a chunked stream.
    const bytes = Buffer.from(await response.arrayBuffer());
    res.setHeader('content-length', bytes.length);
    res.end(bytes);
    return;
  }
  // Event streams may stay quiet for a while; the client should see the status line at once.
  if (contentType.startsWith('text/event-stream')) res.flushHeaders();
  await relayBody(response.body, res);
}

/**
 * Writes each chunk as the body produces it, waiting for the socket when it is full; chunks
 * produced in the same tick leave in one write (the response corks until the next tick). A
 * client that goes away cancels the body; a body that fails after the status was sent can only
 * be signalled by resetting the connection. Reads the Web stream directly: a Node Readable in
 * between (Readable.fromWeb) cost a buffer, a push and an event per chunk.
 */
async function relayBody(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  const clientGone = () => {
    if (!res.writableFinished) reader.cancel(new Error('client disconnected')).catch(() => undefined);
  };
  // A client that left while the handler was still working closed the response before this
  // listener could see it: the body is cancelled now instead of being read for nobody.
  if (res.destroyed) {
    clientGone();
    return;
  }
  res.once('close', clientGone);
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        // A client that left mid-stream is normal (closed tabs, cancelled generations).
        if (res.destroyed) {
          clientGone();
          return;
        }
        res.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      if (res.destroyed) {
        // Cancelled already if 'close' was seen; cancelling again is harmless and covers a
        // response destroyed without one.
        clientGone();
        return;
      }
      if (chunk.done) break;
      if (!res.write(chunk.value)) await drained(res);
    }
    res.end();
  } finally {
    res.off('close', clientGone);
  }
}

/** Resolves once the stream (a response, a socket) can take more, or is gone. */
export function drained(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}

function errorResponse(status: number, type: string, message: string): Response {
  return Response.json({ error: { type, message } }, { status });
}

/** The answer to a handler that threw: 400 for a client that left mid-upload, else a logged 500. */
export function handlerFailure(req: IncomingMessage, error: unknown): Response {
  if (error instanceof IncompleteRequestBodyError) return errorResponse(400, 'bad_request', error.message);
  console.error(`web: ${req.method} ${req.url} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  return errorResponse(500, 'internal_server_error', 'internal server error');
}

/** Runs a Web handler for a Node request; a handler that throws becomes a 500 JSON error. */
export async function serveWithWebHandler(req: IncomingMessage, res: ServerResponse, handler: WebHandler): Promise<void> {
  let request: Request;
  try {
    request = toWebRequest(req, res);
  } catch {
    // Only a Host header that cannot form a URL gets here.
    await sendWebResponse(res, errorResponse(400, 'bad_request', 'malformed request target or Host header'), req.method);
    return;
  }
  let response: Response;
  try {
    response = await handler(request);
  } catch (error) {
    response = handlerFailure(req, error);
  }
  await sendWebResponse(res, response, req.method);
}
