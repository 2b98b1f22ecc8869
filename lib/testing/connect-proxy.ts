// Test support: an HTTP CONNECT proxy on 127.0.0.1 that tunnels one host name to a local port, so
// a client that refuses loopback addresses (Claude Code's plugin archives must be https on a
// non-loopback host) can reach a loopback server under a real-looking name through HTTPS_PROXY.
// Every other destination is refused: a test never reaches the internet through it.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxy {
  /** http://127.0.0.1:<port>, for HTTPS_PROXY. */
  url: string;
  /** The CONNECT targets asked for, in order (host:port). */
  targets: string[];
  close(): Promise<void>;
}

export async function startConnectProxy(routes: Record<string, number>): Promise<ConnectProxy> {
  const targets: string[] = [];
  // Tunnels leave the HTTP server once established: closing it does not end them, so they are kept.
  const tunnels = new Set<Socket>();
  const track = (socket: Socket) => {
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
  };
  const server: Server = createServer((_req, res) => {
    res.statusCode = 405;
    res.end('this proxy only tunnels (CONNECT)');
  });
  server.on('connect', (req, client, head) => {
    const target = req.url ?? '';
    targets.push(target);
    // Clients drop tunnels as they like (a refused one, a finished download): not an error here.
    client.on('error', () => client.destroy());
    track(client as Socket);
    const port = routes[target];
    if (port === undefined) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    close: () =>
      new Promise((resolve) => {
        for (const socket of tunnels) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
