// Test support: an https server on 127.0.0.1 with a throwaway self-signed certificate (openssl),
// for what must be fetched over https (client metadata documents: MCP clients refuse http ones).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface LoopbackTlsServer {
  /** https://127.0.0.1:<port> */
  url: string;
  /** The certificate, to trust it as a certificate authority. */
  certificate: string;
  close(): Promise<void>;
}

function selfSigned(hostname?: string): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${hostname ?? '127.0.0.1'}`, '-addext', `subjectAltName=IP:127.0.0.1${hostname ? `,DNS:${hostname}` : ''}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `hostname`: a DNS name the certificate also holds, for clients that must not see a loopback address. */
export async function startLoopbackTlsServer(handler: (req: IncomingMessage, res: ServerResponse) => void, options: { hostname?: string } = {}): Promise<LoopbackTlsServer> {
  const { key, cert } = selfSigned(options.hostname);
  const server: Server = createServer({ key, cert }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    certificate: cert,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
