/**
 * The web process: dashboard (Next.js) and data plane on one port.
 *   tsx scripts/web.ts          serves the built app (run `next build` first)
 *   tsx scripts/web.ts --dev    Next's development mode
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { checkAppRole } from '@/lib/db/roles';
import { EnvError, loadEnv, type Env } from '@/lib/env';
import { publicUrl } from '@/lib/platform/public-url';
import { deriveSecret } from '@/lib/platform/secret';
import type { ListeningMessage } from '@/lib/platform/supervisor';

const dev = process.argv.includes('--dev');
// The worker reports gatehouse.yaml's reloads (printed and audited once); this process applies them
// silently (lib/config, configStore). An environment variable, so it reaches Next's own workers too.
process.env.GATEHOUSE_PROCESS = 'web';

function fail(message: string): never {
  console.error(`web: ${message}`);
  process.exit(1);
}

function loadEnvOrExit(): Env {
  try {
    return loadEnv();
  } catch (error) {
    if (error instanceof EnvError) fail(error.message);
    throw error;
  }
}

const env = loadEnvOrExit();

// React and Next choose their development or production builds from NODE_ENV when first loaded,
// so it is settled before anything imports them (hence the dynamic imports below).
// (Next's types declare NODE_ENV read-only because bundles inline it; this process sets it.)
(process.env as Record<string, string | undefined>).NODE_ENV = dev ? 'development' : 'production';
// A self-hosted governance plane does not report usage to anyone, Next's telemetry included.
process.env.NEXT_TELEMETRY_DISABLED ??= '1';
// next-auth reads its own variable names; Gatehouse has one secret and one public URL. (Guarded:
// assigning undefined to process.env stores the string "undefined", which would pass as a secret.)
if (!process.env.NEXTAUTH_SECRET && env.GATEHOUSE_SECRET) process.env.NEXTAUTH_SECRET = deriveSecret(env.GATEHOUSE_SECRET, 'nextauth-session');
if (!process.env.NEXTAUTH_URL) process.env.NEXTAUTH_URL = publicUrl(env);

if (!dev && !process.env.NEXTAUTH_SECRET) fail('GATEHOUSE_SECRET (or NEXTAUTH_SECRET) must be set to sign dashboard sessions');
if (!dev && !existsSync(path.join(process.cwd(), '.next', 'BUILD_ID'))) fail('no production build found: run `npx next build` first, or pass --dev');

// A privileged database login would let any flaw in the web process rewrite the audit trail.
if (env.DATABASE_URL) {
  const verdict = await checkAppRole(env.DATABASE_URL).catch((error: Error) => fail(`database: ${error.message}`));
  if (!verdict.ok) fail(verdict.reason);
  if (verdict.warning) console.warn(`web: ${verdict.warning}`);
}

// Before anything serves: data-plane spans carry the audit trace ids (lib/tracing).
(await import('@/lib/tracing/register')).registerTracing();
const { startWebServer } = await import('@/lib/http/server');
const { webPeers } = await import('@/lib/http/peers');
const { closeDatabase } = await import('@/lib/db/client');
const { closeAuditWriter } = await import('@/lib/audit');
const { drainBackgroundTasks } = await import('@/lib/platform/background');
const { closeMcpSessions } = await import('@/lib/mcp');

const server = await startWebServer({ port: env.PORT, host: env.HOST, dev, peers: webPeers() }).catch((error: NodeJS.ErrnoException) => {
  if (error.code === 'EADDRINUSE') fail(`port ${env.PORT} is in use`);
  if (error.code === 'EACCES') fail(`not allowed to listen on port ${env.PORT} (ports below 1024 need privileges): set PORT`);
  throw error;
});
console.log(`web: listening on ${server.url}${dev ? ' (development)' : ''}`);
// Under `npm start`, the supervisor's signal that this process (not another one on the port) is up.
if (process.send) {
  const listening: ListeningMessage = { type: 'listening', url: server.url };
  process.send(listening);
  process.channel?.unref();
}

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`web: ${signal} received, closing`);
  try {
    // MCP notification streams stay open until closed; ending the sessions lets close() finish.
    await closeMcpSessions();
    await server.close();
    // Work that outlives its response (settlements, response events, ledger rows) finishes next,
    // then queued audit events are committed, and only then does the pool go.
    const unfinished = await drainBackgroundTasks();
    if (unfinished > 0) console.error(`web: ${unfinished} background task(s) still running at shutdown; the reconciler will close their records`);
    await closeAuditWriter();
    await closeDatabase();
    process.exit(0);
  } catch (error) {
    console.error(`web: shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
process.on('SIGINT', (signal) => void shutdown(signal));
process.on('SIGTERM', (signal) => void shutdown(signal));
// A closed terminal (SIGHUP reaches its whole process group) drains like a stop; writing to
// the terminal fails from then on (EIO), which must not end the drain.
process.on('SIGHUP', (signal) => {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  void shutdown(signal);
});
