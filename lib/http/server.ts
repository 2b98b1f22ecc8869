import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, ListenOptions } from 'node:net';
import next from 'next';
import { matchDataPlane, pathOf, serveDataPlane } from './data-plane';
import { appendPeerAddress } from './node-adapter';
import { forwardToOwner, peerSocket, sessionOwner, type WebPeers } from './peers';

export interface WebServerOptions {
  port: number;
  host: string;
  /** Next's development mode (compiles on demand, hot reload) instead of the built app. */
  dev: boolean;
  /** The Next.js project directory; the current directory by default. */
  dir?: string;
  /** How long close() lets in-flight responses (long streams included) finish before cutting them. */
  shutdownGraceMs?: number;
  /** The other web processes on this port, when there are any (lib/http/peers.ts). */
  peers?: WebPeers | null;
}

export interface WebServer {
  /** Where the server listens, e.g. http://localhost:3000 (port resolved when 0 was asked for). */
  url: string;
  close(): Promise<void>;
}

function displayHost(host: string): string {
  // Wildcard binds are reachable on localhost; an IPv6 literal needs brackets in a URL.
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function failRequest(res: ServerResponse, error: unknown): void {
  console.error(`web: request failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  if (res.headersSent) {
    // The status is already on the wire; cutting the connection is the only honest signal left.
    res.destroy();
    return;
  }
  res.statusCode = 500;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end('internal server error');
}

function listen(server: Server, options: ListenOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * One `node:http` server in front of Next.js: data-plane paths are answered straight from their
 * Web handlers, everything else (dashboard pages, next-auth, assets) goes to Next's handler.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const server = createServer();
  const app = next({
    dev: options.dev,
    dir: options.dir ?? process.cwd(),
    hostname: options.host,
    port: options.port,
    // Lets Next attach its dev-mode websocket (hot reload) to this server.
    httpServer: server,
  });
  await app.prepare();
  const handleWithNext = app.getRequestHandler();

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const route = matchDataPlane(pathOf(req.url ?? '/'));
    let served: Promise<void>;
    if (route) served = serveDataPlane(req, res, route);
    else {
      appendPeerAddress(req);
      served = handleWithNext(req, res);
    }
    served.catch((error: unknown) => failRequest(res, error));
  };
  const { peers } = options;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const owner = peers ? sessionOwner(req) : null;
    if (peers && owner !== null && owner !== peers.self) forwardToOwner(req, res, peerSocket(peers, owner), () => serve(req, res));
    else serve(req, res);
  });
  // What other processes forward here is served here, never forwarded again.
  const peerServer = peers ? createServer(serve) : null;

  await listen(server, { port: options.port, host: options.host });
  // exclusive: a cluster worker's own socket, not one the cluster's primary shares out.
  if (peers && peerServer) await listen(peerServer, { path: peerSocket(peers, peers.self), exclusive: true });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const servers = peerServer ? [server, peerServer] : [server];
      const stopped = Promise.all(servers.map((each) => new Promise<void>((resolve) => each.close(() => resolve()))));
      // Keep-alive sockets would hold close() open indefinitely; in-flight responses still finish.
      for (const each of servers) each.closeIdleConnections();
      const deadline = setTimeout(() => servers.forEach((each) => each.closeAllConnections()), options.shutdownGraceMs ?? 10_000);
      deadline.unref();
      await stopped;
      clearTimeout(deadline);
      await app.close();
    })();
    return closing;
  };

  return { url: `http://${displayHost(options.host)}:${port}`, close };
}
