/**
 * Web processes sharing one port (`npm start` with WEB_CONCURRENCY > 1, scripts/start.mjs).
 * node:cluster hands each connection to the next process in turn, but an MCP session (its SDK
 * transport, its notification stream, its upstream connection) lives in the process that
 * opened it. So a session id names its owner (`w2.<uuid>`), every process also listens on a
 * Unix socket of its own in a directory only this user can enter, and a request carrying
 * another process's session id is forwarded there whole, body and streamed answer included.
 * When the owner is gone (its socket is missing or refuses: it stopped, and its sessions with
 * it), the request is handled here, where the session is unknown: the client is told to
 * initialise a new one. Any other failure (a full backlog under load, the owner failing before
 * it answers) is a 503 or 502 instead: the session may well live on.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { McpHttpError } from '@/lib/mcp/errors';
import { appendPeerAddress, sendWebResponse } from './node-adapter';

export interface WebPeers {
  /** This process's index, 1-based. */
  self: number;
  /** The private directory holding every process's socket (`web-<index>.sock`). */
  dir: string;
}

/** Set by the supervisor only when more than one web process shares the port. */
export function webPeers(env: Record<string, string | undefined> = process.env): WebPeers | null {
  const self = Number(env.GATEHOUSE_WEB_INDEX);
  const dir = env.GATEHOUSE_WEB_PEERS_DIR;
  return Number.isInteger(self) && self > 0 && dir ? { self, dir } : null;
}

export function peerSocket(peers: WebPeers, index: number): string {
  return path.join(peers.dir, `web-${index}.sock`);
}

/** The prefix this process gives the MCP session ids it opens ('' when it is the only one). */
export function sessionIdPrefix(peers: WebPeers | null = webPeers()): string {
  return peers ? `w${peers.self}.` : '';
}

/** The index of the process that owns the session a request names, or null. */
export function sessionOwner(req: IncomingMessage): number | null {
  const url = req.url ?? '/';
  if (!(url === '/mcp' || url.startsWith('/mcp/') || url.startsWith('/mcp?'))) return null;
  const id = req.headers['mcp-session-id'];
  const match = typeof id === 'string' ? /^w(\d{1,4})\./.exec(id) : null;
  return match ? Number(match[1]) : null;
}

// Connection headers describe the hop to us, not the request.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/** Raw headers (name, value, name, value …) without the hop-by-hop ones and those in `replaced`. */
function endToEnd(rawHeaders: string[], replaced: string[] = []): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(name) && !replaced.includes(name)) kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return kept;
}

// Connect errors that mean the owner has stopped: its socket was removed, or nobody listens on it.
const OWNER_GONE = new Set(['ENOENT', 'ECONNREFUSED']);

/** Answers in the MCP endpoint's error shape, unless the client has gone or an answer has begun. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  req.unpipe();
  void sendWebResponse(res, new McpHttpError(status, message, headers).toResponse(), req.method).catch(() => res.destroy());
}

/**
 * Sends the request to the process that owns its session and relays the answer as it comes
 * (event streams included). `handleHere` is called instead, before anything of the request is
 * read, when the owner's socket is missing or refuses the connection. The client's address is appended to
 * X-Forwarded-For, as this process would have done: the owner, reached over a Unix socket,
 * appends nothing of its own. A connection per request (no agent, so no keep-alive): one the
 * owner closed while idle would fail the next request, and a local connect costs microseconds.
 */
export function forwardToOwner(req: IncomingMessage, res: ServerResponse, socketPath: string, handleHere: () => void): void {
  appendPeerAddress(req);
  const forwardedFor = req.headers['x-forwarded-for'];
  const headers = endToEnd(req.rawHeaders, ['x-forwarded-for']);
  if (typeof forwardedFor === 'string') headers.push('x-forwarded-for', forwardedFor);
  let connected = false;
  // createConnection rather than socketPath, which @vercel/otel's HTTP instrumentation refuses.
  const forwarded = http.request({ createConnection: () => net.connect(socketPath), host: 'localhost', method: req.method, path: req.url, headers });
  forwarded.on('socket', (socket) => {
    const start = () => {
      connected = true;
      req.pipe(forwarded);
    };
    if (socket.connecting) socket.once('connect', start);
    else start();
  });
  forwarded.on('error', (error: NodeJS.ErrnoException) => {
    if (res.destroyed) return; // the client left: nobody to answer
    if (!connected && OWNER_GONE.has(error.code ?? '')) handleHere();
    else if (!connected) refuse(req, res, 503, 'the web process holding this MCP session is busy; retry', { 'retry-after': '1' });
    // Connected, then failed before its status line: the session's fate is unknown, so no 404.
    else refuse(req, res, 502, 'the web process holding this MCP session failed before answering; retry');
  });
  forwarded.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders));
    // Event streams may stay quiet for a while; the client should see the status line at once.
    if (String(answer.headers['content-type'] ?? '').startsWith('text/event-stream')) res.flushHeaders();
    answer.pipe(res);
    // The owner died mid-answer: the client sees the answer cut off, not a complete one.
    answer.on('error', () => res.destroy());
  });
  // The client went away: so does the forwarded request (and the owner sees its client leave).
  res.on('close', () => {
    if (!res.writableFinished) forwarded.destroy();
  });
}
