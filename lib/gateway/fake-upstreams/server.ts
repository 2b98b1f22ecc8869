/**
 * Plumbing shared by the fake upstreams: a node:http server on 127.0.0.1 that records every request
 * and lets a test script how each one is answered. The wire formats live in anthropic.ts and
 * openai.ts; this file only knows about HTTP, timing and sockets. Tests reach these through
 * lib/gateway/testing; the demo upstream (lib/demo) and the benchmark use them as they are.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenOnLoopback } from '@/lib/platform/net';

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
      /** Non-streaming: headers at once, then the JSON body in `pieces` parts, `intervalMs` apart (a slow but live answer). */
      trickle?: { pieces: number; intervalMs: number };
    }
  | FakeErrorBehaviour
  /** Send response headers and this many stream events, then destroy the socket. */
  | { kind: 'die'; afterEvents: number; reply?: R }
  /** Send response headers and this many stream events, then go silent without closing. */
  | { kind: 'stall'; afterEvents: number; reply?: R }
  /** Accept the request and never answer (not even headers). */
  | { kind: 'hang' }
  /** Read the request, then reset the connection (TCP RST) without answering. */
  | { kind: 'reset' };

export type BehaviourScript<R> = FakeBehaviour<R> | ((request: RecordedRequest, index: number) => FakeBehaviour<R>);

export interface FakeServerOptions<R> {
  /** How to answer: one behaviour for every request, or a function of the request and its index. */
  behaviour?: BehaviourScript<R>;
  /** Awaited before answering each request (e.g. to check the database saw the audit event first). */
  onRequest?: (request: RecordedRequest) => Promise<void> | void;
  /** Port on 127.0.0.1; default: one the kernel picks. A taken port rejects the start. */
  port?: number;
  /** Keep every request in `requests` (default true); a long-running server turns it off. */
  recordRequests?: boolean;
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

/** What every fake's reply script may pin down; left out, each is made up or taken from the request. */
export interface FakeReplyIdentity {
  /** The message / completion id; defaults to a numbered fake one. */
  id?: string;
  /** Defaults to the model the request named. */
  model?: string;
}

/**
 * Options of a provider fake: the shared plumbing plus the one credential every provider checks.
 * How the key must be presented (which header) is the wire format's business.
 */
export interface FakeUpstreamOptions<R> extends FakeServerOptions<R> {
  /** When set, requests that do not present this key get 401 in the provider's own error envelope. */
  apiKey?: string;
}

/** The behaviours that end in an actual answer (not an error envelope, not silence). */
export type AnsweringBehaviour<R> = Exclude<FakeBehaviour<R>, FakeErrorBehaviour | { kind: 'hang' } | { kind: 'reset' }>;

/**
 * What makes one provider's fake differ from another's: which paths it serves, how a key is
 * presented, its error envelope and its answers. The order of the checks is the same for every
 * provider (unknown path → 404, bad key → 401, then the scripted behaviour), so it lives once in
 * startFakeUpstream.
 */
export interface WireFormat<R> {
  serves(request: RecordedRequest): boolean;
  notFound(request: RecordedRequest): FakeErrorBehaviour;
  presentsKey(request: RecordedRequest, apiKey: string): boolean;
  badKey: FakeErrorBehaviour;
  sendError(res: ServerResponse, behaviour: FakeErrorBehaviour): void;
  answer(context: { request: RecordedRequest; behaviour: AnsweringBehaviour<R>; res: ServerResponse }): Promise<void>;
}

/** Starts a provider fake: the shared request checks and behaviours, the provider's wire format. */
export function startFakeUpstream<R>(options: FakeUpstreamOptions<R>, wire: WireFormat<R>): Promise<FakeServer<R>> {
  return startFakeServer<R>(options, { kind: 'reply' }, async ({ request, behaviour, res }) => {
    if (!wire.serves(request)) {
      wire.sendError(res, wire.notFound(request));
      return;
    }
    if (options.apiKey !== undefined && !wire.presentsKey(request, options.apiKey)) {
      wire.sendError(res, wire.badKey);
      return;
    }
    if (behaviour.kind === 'hang') return; // the socket stays open until the client or close() ends it
    if (behaviour.kind === 'reset') return resetConnection(res);
    if (behaviour.kind === 'error') {
      wire.sendError(res, behaviour);
      return;
    }
    await wire.answer({ request, behaviour, res });
  });
}

/** The model the request named, so a fake answers "as" that model unless the script says otherwise. */
export function requestedModel(request: RecordedRequest, fallback: string): string {
  const { model } = (request.body ?? {}) as { model?: unknown };
  return typeof model === 'string' ? model : fallback;
}

/**
 * Splits a string into up to `parts` roughly equal pieces, as streams deliver text in fragments.
 * An empty string gives no pieces; a wire format that still sends one empty delta says so itself.
 */
export function splitIntoPieces(text: string, parts: number): string[] {
  if (text.length === 0) return [];
  const size = Math.ceil(text.length / parts);
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out;
}

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
  let served = 0;

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
      const index = served;
      served += 1;
      if (options.recordRequests ?? true) requests.push(request);
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

  const url = await listenOnLoopback(server, options.port);

  return {
    url,
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

/** Ends the exchange with a TCP reset and no answer at all (the `reset` behaviour). */
export function resetConnection(res: ServerResponse): void {
  res.socket?.resetAndDestroy();
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
export async function playStream<R>(res: ServerResponse, frames: (string | Uint8Array)[], behaviour: FakeBehaviour<R>, headers: Record<string, string>): Promise<void> {
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
  if (behaviour.kind === 'reply' && behaviour.trickle) {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.flushHeaders();
    for (const [index, piece] of splitIntoPieces(JSON.stringify(body), behaviour.trickle.pieces).entries()) {
      if (index > 0) await sleep(behaviour.trickle.intervalMs);
      if (res.destroyed) return;
      res.write(piece);
    }
    res.end();
    return;
  }
  sendJson(res, 200, body, headers);
}
