/**
 * Plumbing shared by the fake upstreams: a node:http server on 127.0.0.1 that records every request
 * and lets a test script how each one is answered. The wire formats live in fake-anthropic.ts and
 * fake-openai.ts; this file only knows about HTTP, timing and sockets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request as the fake upstream saw it. */
export interface RecordedRequest {
  method: string;
  /** Path with query string, as sent. */
  url: string;
  /** Path without the query string. */
  path: string;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  rawBody: string;
  /** The parsed JSON body, or null when it was not JSON. */
  body: unknown;
  /**
   * Settles when the exchange is over: `completed` when the fake finished its answer, `aborted`
   * when the client closed the connection first (what a cancelled upstream call looks like).
   */
  finished: Promise<'completed' | 'aborted'>;
}

/** A reply the fake sends as a JSON error, in the upstream's own error envelope. */
export interface FakeErrorBehaviour {
  kind: 'error';
  status: number;
  /** The provider's error type (`rate_limit_error`, `api_error`…; OpenAI: `server_error`…). */
  errorType: string;
  message: string;
  /** OpenAI's `error.code`; ignored by the Anthropic fake. */
  code?: string | null;
  headers?: Record<string, string>;
}

/**
 * How the fake answers one request. `R` is the reply script of the wire format (what the model
 * "says"); every behaviour that produces a stream uses it.
 */
export type FakeBehaviour<R> =
  /** Answer normally (JSON or SSE, as the request asked). */
  | {
      kind: 'reply';
      reply?: R;
      /** Wait this long before the response headers. */
      latencyMs?: number;
      /** Wait this long between stream events. */
      eventDelayMs?: number;
      /** One silent gap mid-stream: after this many events, wait `ms` before the next. */
      pause?: { afterEvents: number; ms: number };
    }
  | FakeErrorBehaviour
  /** Send response headers and this many stream events, then destroy the socket. */
  | { kind: 'die'; afterEvents: number; reply?: R }
  /** Send response headers and this many stream events, then go silent without closing. */
  | { kind: 'stall'; afterEvents: number; reply?: R }
  /** Accept the request and never answer (not even headers). */
  | { kind: 'hang' };

export type BehaviourScript<R> = FakeBehaviour<R> | ((request: RecordedRequest, index: number) => FakeBehaviour<R>);

export interface FakeServerOptions<R> {
  /** How to answer: one behaviour for every request, or a function of the request and its index. */
  behaviour?: BehaviourScript<R>;
  /** Awaited before answering each request (e.g. to check the database saw the audit event first). */
  onRequest?: (request: RecordedRequest) => Promise<void> | void;
}

export interface FakeServer<R> {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  /** Replace the behaviour for the following requests. */
  setBehaviour(behaviour: BehaviourScript<R>): void;
  /** Errors thrown by `onRequest` (the request was answered 500); tests assert this is empty. */
  hookErrors: unknown[];
  close(): Promise<void>;
}

/** Answers one request after the behaviour has been picked; implemented per wire format. */
export type Responder<R> = (context: {
  request: RecordedRequest;
  behaviour: FakeBehaviour<R>;
  res: ServerResponse;
}) => Promise<void>;

/** Plays `behaviour` in sequence, one per request; the last one repeats. */
export function inSequence<R>(...behaviours: FakeBehaviour<R>[]): (request: RecordedRequest, index: number) => FakeBehaviour<R> {
  if (behaviours.length === 0) throw new Error('inSequence needs at least one behaviour');
  return (_request, index) => behaviours[Math.min(index, behaviours.length - 1)] as FakeBehaviour<R>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function startFakeServer<R>(options: FakeServerOptions<R>, defaultBehaviour: FakeBehaviour<R>, respond: Responder<R>): Promise<FakeServer<R>> {
  const requests: RecordedRequest[] = [];
  const hookErrors: unknown[] = [];
  let script: BehaviourScript<R> = options.behaviour ?? defaultBehaviour;

  const server = createServer((req, res) => {
    void (async () => {
      const rawBody = await readBody(req);
      const url = req.url ?? '/';
      let settle: (how: 'completed' | 'aborted') => void = () => {};
      const finished = new Promise<'completed' | 'aborted'>((resolve) => (settle = resolve));
      // 'close' on the response fires both after a full answer and when the peer goes away first.
      res.on('close', () => settle(res.writableFinished ? 'completed' : 'aborted'));
      const request: RecordedRequest = {
        method: req.method ?? 'GET',
        url,
        path: url.split('?')[0] ?? url,
        headers: flattenHeaders(req),
        rawBody,
        body: parseJson(rawBody),
        finished,
      };
      const index = requests.length;
      requests.push(request);
      try {
        await options.onRequest?.(request);
      } catch (error) {
        hookErrors.push(error);
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`onRequest failed: ${String(error)}`);
        return;
      }
      const behaviour = typeof script === 'function' ? script(request, index) : script;
      await respond({ request, behaviour, res });
    })().catch((error: unknown) => {
      // A socket torn down mid-write is part of several scripts; anything else is a fake bug.
      if (!res.destroyed && !res.headersSent) res.writeHead(500).end(String(error));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hookErrors,
    setBehaviour(next) {
      script = next;
    },
    async close() {
      // Hanging and stalled exchanges keep sockets open; cut them so close() returns.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Closes the connection in the middle of a response, as a crashed upstream does. The bytes
 * written so far are flushed first (a FIN, not a reset, which could make the client's kernel
 * discard data it already received), so tests see "some events, then the connection ends".
 */
function cutConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket) return;
  socket.end(() => socket.destroy());
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text).toString(), ...headers });
  res.end(text);
}

/**
 * Streams pre-rendered SSE frames the way the behaviour says: all of them, some then die, some then
 * stall. Each frame is flushed on its own so the client sees real chunk boundaries.
 */
export async function playStream<R>(res: ServerResponse, frames: string[], behaviour: FakeBehaviour<R>, headers: Record<string, string>): Promise<void> {
  if (behaviour.kind === 'reply' && behaviour.latencyMs) await sleep(behaviour.latencyMs);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
  const limit = behaviour.kind === 'die' || behaviour.kind === 'stall' ? behaviour.afterEvents : frames.length;
  for (let index = 0; index < Math.min(limit, frames.length); index += 1) {
    if (res.destroyed) return;
    if (behaviour.kind === 'reply') {
      if (behaviour.eventDelayMs && index > 0) await sleep(behaviour.eventDelayMs);
      if (behaviour.pause && behaviour.pause.afterEvents === index) await sleep(behaviour.pause.ms);
    }
    res.write(frames[index]);
  }
  if (behaviour.kind === 'die') {
    cutConnection(res);
    return;
  }
  if (behaviour.kind === 'stall') return; // keep the socket open and say nothing more
  res.end();
}

/** Applies latency, then answers with JSON; used for non-streaming replies. */
export async function playJson<R>(res: ServerResponse, body: unknown, behaviour: FakeBehaviour<R>, headers: Record<string, string> = {}): Promise<void> {
  if (behaviour.kind === 'reply' && behaviour.latencyMs) await sleep(behaviour.latencyMs);
  if (behaviour.kind === 'die') {
    // A non-streaming answer that dies: headers out, half a body, then the socket goes.
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    cutConnection(res);
    return;
  }
  if (behaviour.kind === 'stall') {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.flushHeaders();
    return;
  }
  sendJson(res, 200, body, headers);
}
