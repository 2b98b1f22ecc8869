// The Gatehouse web process of `npm run bench`: the data plane served as the production Node
// server serves it (lib/http/server.ts without Next's handler: the benchmark sends only /v1/*),
// configured by the environment the parent prepared. Prints its URL once listening; SIGTERM
// drains in-flight evidence (the background registry and the audit writer) before exiting.
import { createServer } from 'node:http';
import { closeAuditWriter } from '@/lib/audit';
import { closeConfigStore } from '@/lib/config';
import { closeDatabase } from '@/lib/db/client';
import { closeGatewayLimits } from '@/lib/gateway/limits';
import { matchDataPlane, pathOf, serveDataPlane } from '@/lib/http/data-plane';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { listenOnLoopback } from '@/lib/platform/net';

const server = createServer((req, res) => {
  const route = matchDataPlane(pathOf(req.url ?? '/'));
  if (route) void serveDataPlane(req, res, route);
  else res.writeHead(404).end();
});
const url = await listenOnLoopback(server);
// The issuer and the gateway audience come from the public URL, as in production.
process.env.GATEHOUSE_PUBLIC_URL = url;
process.stdout.write(`${url}\n`);

process.once('SIGTERM', () => {
  void (async () => {
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await drainBackgroundTasks();
    await closeGatewayLimits();
    await closeConfigStore();
    await closeAuditWriter();
    await closeDatabase();
    process.exit(0);
  })();
});
