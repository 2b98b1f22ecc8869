/**
 * The gateway's HTTP client for upstream calls: node:http(s) over keep-alive agents, the answer's
 * body a Node stream read as an async iterable. `fetch` cost more CPU per call than the rest of
 * the relay (its Request and Response objects, a WHATWG body stream per answer, a chain of abort
 * signals), and the gateway needs none of what it adds: redirects are never followed (the
 * credential must not go elsewhere), bodies are never decompressed (no Accept-Encoding is ever
 * sent, so answers come as they are).
 */
import http from 'node:http';
import https from 'node:https';
import type { PreparedRequest, UpstreamBody } from './adapter';

/** An upstream's answer once its status and headers are in; the body is still on the socket. */
export interface UpstreamResponse {
  status: number;
  ok: boolean;
  headers: Headers;
  /** Iterating it reads the socket; stopping early (or aborting the call) closes the connection. */
  body: UpstreamBody;
}

// Connections are reused across calls, as fetch's global dispatcher did; no limit per origin (the
// gateway's own admission decides how many calls are in flight).
// An idle socket is closed after IDLE_SOCKET_MS (as undici's keep-alive default of ~4 s did),
// before a typical upstream closes it (5 s for Node servers): reusing one the upstream is closing
// fails the call. The rare race left is retried once (see postUpstream).
const IDLE_SOCKET_MS = 4_000;
const agents = {
  'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
};

/** A reused keep-alive socket the upstream had closed: nothing was answered, so sending again is safe. */
function staleSocket(request: http.ClientRequest, answered: boolean, error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return request.reusedSocket && !answered && (code === 'ECONNRESET' || code === 'EPIPE');
}

interface Target {
  request: typeof http.request;
  agent: http.Agent;
  host: string;
  port: string;
  path: string;
}

// Adapters build the same few URLs over and over (one per provider and model): parsed once.
const targets = new Map<string, Target>();
const MAX_TARGETS = 1000;

function targetOf(url: string): Target {
  let target = targets.get(url);
  if (target) return target;
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`upstream URL ${parsed.origin} is not http or https`);
  target = {
    request: parsed.protocol === 'https:' ? https.request : http.request,
    agent: agents[parsed.protocol],
    // node:http wants IPv6 literals without their brackets.
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port,
    path: `${parsed.pathname}${parsed.search}`,
  };
  if (targets.size >= MAX_TARGETS) targets.clear();
  targets.set(url, target);
  return target;
}

function responseHeaders(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let index = 0; index + 1 < raw.length; index += 2) headers.append(raw[index]!, raw[index + 1]!);
  return headers;
}

/** One upstream call in flight. */
export interface UpstreamExchange {
  /** The answer's head; rejects if the connection fails or the call is cancelled first. */
  response: Promise<UpstreamResponse>;
  /**
   * Cuts the call: before the head, `response` rejects with `reason`; during the body, its reads
   * fail with it. A no-op once the answer has been read to its end.
   */
  cancel(reason?: Error): void;
}

/**
 * POSTs `prepared`. The client's signal (the one per request, see DataPlaneRequest) cancels the
 * call until the answer is complete: one listener on it, no signal of the call's own.
 */
export function postUpstream(prepared: PreparedRequest, clientSignal: AbortSignal): UpstreamExchange {
  const target = targetOf(prepared.url);
  const headers: Record<string, string> = {};
  prepared.headers.forEach((value, name) => {
    // Answers are relayed and read as they come, never decompressed: an Accept-Encoding from a
    // provider's configured headers would get a gzip body the adapters cannot parse.
    if (name !== 'accept-encoding') headers[name] = value;
  });
  const body = Buffer.from(prepared.body, 'utf8');
  headers['content-length'] = String(body.length);
  let request: http.ClientRequest | undefined;
  let answer: http.IncomingMessage | undefined;
  let cancelled: Error | null = null;
  let finished = false;
  const cancel = (reason: Error = new Error('the upstream call was cancelled')) => {
    // Read to its end: the connection went back to the pool and must not be cut.
    if (finished || cancelled || answer?.readableEnded) return;
    cancelled = reason;
    request?.destroy(reason);
    answer?.destroy(reason);
  };
  const onClientGone = () => cancel(clientSignal.reason instanceof Error ? clientSignal.reason : new Error('the upstream call was cancelled'));
  const response = new Promise<UpstreamResponse>((resolve, reject) => {
    const send = (retry: boolean) => {
      answer = undefined;
      const sent = target.request({ method: 'POST', host: target.host, port: target.port, path: target.path, headers, agent: target.agent }, (received) => {
        answer = received;
        // A failure before anyone reads the body must not go unhandled; readers see it when they read.
        received.on('error', () => undefined);
        const status = received.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, headers: responseHeaders(received.rawHeaders), body: received });
      });
      request = sent;
      // Also after the promise settled: a socket failing mid-body errors the request too.
      sent.on('error', (error) => {
        if (retry && !cancelled && staleSocket(sent, answer !== undefined, error)) send(false);
        else reject(error);
      });
      // Until the answer is complete (or the call failed), a cancel cuts the connection.
      sent.once('close', () => {
        if (request !== sent) return; // replaced by the retry
        finished = true;
        clientSignal.removeEventListener('abort', onClientGone);
      });
      sent.end(body);
    };
    send(true);
  });
  if (clientSignal.aborted) onClientGone();
  else clientSignal.addEventListener('abort', onClientGone, { once: true });
  return { response, cancel };
}
