/**
 * The request as the Node-native data plane hands it to an endpoint: method, path, headers, a
 * body read straight from the socket into one buffer under a size cap, and a signal that fires
 * when the client goes away. Built from `IncomingMessage` without a WHATWG `Request` (no URL
 * parse, no `Headers` validation, no Web body stream, no chain of abort signals); a Web `Request`
 * (Next's route files, tests) is wrapped into the same shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { addPeerAddress, BODYLESS_METHODS, IncompleteRequestBodyError } from './node-adapter';

/** What endpoints read of request headers: a Web `Headers` has this shape too. */
export interface HeaderReader {
  /** The value (repeated headers joined with ", "), or null. Names are case-insensitive. */
  get(name: string): string | null;
  has(name: string): boolean;
  forEach(each: (value: string, name: string) => void): void;
}

export interface DataPlaneRequest {
  readonly method: string;
  /** The request target's path, without the query string. */
  readonly path: string;
  readonly headers: HeaderReader;
  /** Aborted once the client has gone away before its answer was complete. */
  readonly signal: AbortSignal;
  /** Whether the client went away before its answer was complete (the signal's state, without making one). */
  readonly clientGone: boolean;
  /** A body was sent and not read to its end: the connection cannot carry another request. */
  readonly bodyPending: boolean;
  /**
   * The whole body, or null as soon as it passes `maxBytes` (the rest is left unread). Throws
   * IncompleteRequestBodyError when the client stops sending before the body is complete.
   */
  readBody(maxBytes: number): Promise<Uint8Array | null>;
}

/** The path part of a request target (`/a/b?x=1` → `/a/b`), without URL parsing. */
export function pathOf(requestTarget: string): string {
  const query = requestTarget.indexOf('?');
  return query === -1 ? requestTarget : requestTarget.slice(0, query);
}

/** Request headers from Node's raw list: names lower-cased, repeats joined as the Fetch spec joins them. */
class NodeHeaders implements HeaderReader {
  private readonly values = new Map<string, string>();

  constructor(req: IncomingMessage) {
    // rawHeaders keeps repeated headers apart; `req.headers` would have dropped some of them
    // (a second Authorization must make the value unusable, not vanish).
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.startsWith(':')) continue; // HTTP/2 pseudo-headers
      this.append(name.toLowerCase(), raw[i + 1]!.trim());
    }
    addPeerAddress(req, (name, peer) => this.append(name, peer));
  }

  private append(name: string, value: string): void {
    const existing = this.values.get(name);
    this.values.set(name, existing === undefined ? value : `${existing}, ${value}`);
  }

  get(name: string): string | null {
    return this.values.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }

  forEach(each: (value: string, name: string) => void): void {
    for (const [name, value] of this.values) each(value, name);
  }
}

class NodeDataPlaneRequest implements DataPlaneRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: HeaderReader;
  private controller: AbortController | null = null;
  private bodyRead: boolean;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.method = req.method ?? 'GET';
    this.path = pathOf(req.url ?? '/');
    this.headers = new NodeHeaders(req);
    // A GET or HEAD body is never read (as a Web Request would not carry one).
    this.bodyRead = BODYLESS_METHODS.has(this.method);
  }

  get clientGone(): boolean {
    return this.res.destroyed && !this.res.writableFinished;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      // One listener on the response's 'close': the client left unless the answer was complete.
      if (this.clientGone) controller.abort(new Error('client disconnected'));
      else this.res.once('close', () => {
        if (!this.res.writableFinished) controller.abort(new Error('client disconnected'));
      });
    }
    return this.controller.signal;
  }

  get bodyPending(): boolean {
    return !this.bodyRead;
  }

  readBody(maxBytes: number): Promise<Uint8Array | null> {
    const { req } = this;
    if (this.bodyRead) return Promise.resolve(new Uint8Array(0));
    if (req.destroyed) return Promise.reject(new IncompleteRequestBodyError({ cause: new Error('the connection closed') }));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const stop = () => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onFailure);
        req.off('close', onClose);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          // The rest stays unread (bodyPending): the answer closes the connection.
          stop();
          req.pause();
          resolve(null);
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = () => {
        stop();
        this.bodyRead = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      };
      const onFailure = (error: unknown) => {
        stop();
        reject(new IncompleteRequestBodyError({ cause: error }));
      };
      const onClose = () => onFailure(new Error('the connection closed'));
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onFailure);
      req.on('close', onClose);
    });
  }
}

/** A Node request as a data-plane request; `res` tells when the client has gone away. */
export function nodeDataPlaneRequest(req: IncomingMessage, res: ServerResponse): DataPlaneRequest {
  return new NodeDataPlaneRequest(req, res);
}

/** A data-plane request made from a Web `Request`, which it keeps for endpoints written against one. */
export interface WebDataPlaneRequest extends DataPlaneRequest {
  readonly web: Request;
}

/** A Web `Request` (Next's route files, tests, endpoints written against Fetch) as a data-plane request. */
export function webDataPlaneRequest(request: Request): WebDataPlaneRequest {
  const url = new URL(request.url);
  return {
    web: request,
    method: request.method,
    path: url.pathname,
    headers: request.headers,
    signal: request.signal,
    get clientGone() {
      return request.signal.aborted;
    },
    get bodyPending() {
      return request.body !== null && !request.bodyUsed;
    },
    async readBody(maxBytes: number) {
      if (!request.body) return new Uint8Array(0);
      const reader = request.body.getReader();
      const chunks: Uint8Array[] = [];
      let size = 0;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          size += value.byteLength;
          if (size > maxBytes) return null;
          chunks.push(value);
        }
      } finally {
        reader.releaseLock();
      }
      return Buffer.concat(chunks, size);
    },
  };
}
