/**
 * Loopback ports for the servers Gatehouse starts itself (the embedded PostgreSQL, the e2e
 * Next server) and for in-process test servers. Everything binds 127.0.0.1 only: none of these
 * is meant to be reachable from another machine.
 */
import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** Whether `port` of `host` (127.0.0.1 unless given) could be listened on right now. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/**
 * A port the kernel reports free, for a server in another process that must be told its port
 * up front. Another process could take it before that server binds; when the server is in this
 * process, listenOnLoopback avoids that race.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts `server` on 127.0.0.1, on `port` or else one the kernel picks; resolves to its base URL
 * (no trailing slash). A port already taken rejects with the listen error (code EADDRINUSE).
 */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
