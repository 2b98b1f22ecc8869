/**
 * Web processes sharing one port (`npm start` with WEB_CONCURRENCY > 1, scripts/start.mjs).
 * node:cluster hands each connection to the next process in turn, but an MCP session (its SDK
 * transport, its notification stream, its upstream connection) lives in the process that
 * opened it. So a session id names its owner (`w2.<uuid>`), every process also listens on a
 * Unix socket of its own in a directory only this user can enter, and a request carrying
 * another process's session id is forwarded there whole, body and streamed answer included.
 * When the owner cannot be reached (it stopped, and its sessions with it), the request is
 * handled here, where the session is unknown: the client is told to initialise a new one.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { appendPeerAddress } from './node-adapter';

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

/**
 * Sends the request to the process that owns its session and relays the answer as it comes
 * (event streams included). `handleHere` is called instead, before anything of the request is
 * read, when the owner's socket refuses the connection. The client's address is appended to
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
  forwarded.on('error', () => {
    if (!connected) handleHere();
    else res.destroy();
  });
  forwarded.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders));
    // Event streams may stay quiet for a while; the client should see the status line at once.
    if (String(answer.headers['content-type'] ?? '').startsWith('text/event-stream')) res.flushHeaders();
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  // The client went away: so does the forwarded request (and the owner sees its client leave).
  res.on('close', () => {
    if (!res.writableFinished) forwarded.destroy();
  });
}
