/**
 * The worker process: runs background jobs from the queues in workers/queues.ts.
 *   tsx workers/main.ts
 * Needs DATABASE_URL; uses Redis when REDIS_URL is set, otherwise BullMQ's PostgreSQL backend.
 */
import path from 'node:path';
import { closeAuditWriter } from '@/lib/audit';
import { closeConfigStore, ConfigError, configStore } from '@/lib/config';
import { closeDatabase } from '@/lib/db/client';
import { checkAppRole } from '@/lib/db/roles';
import { EnvError, loadEnv } from '@/lib/env';
import { closeGatewayLimits } from '@/lib/gateway/limits';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { closeQueueClient, queueClient, type AnyWorker } from '@/lib/queue';
import { followTenantConfig } from '@/lib/users/tenant';
import { CheckpointsRefusedError, loadCheckpointContext, runCheckpoints, startCheckpoints, type CheckpointContext } from './jobs/checkpoints';
import { startBudgetAlerts } from './jobs/budget-alerts';
import { startContentPurge } from './jobs/content-purge';
import { startCostRollup } from './jobs/cost-rollup';
import { startHousekeeping } from './jobs/housekeeping';
import { startReconciler } from './jobs/reconcile';
import { startSiemForwarder } from './jobs/siem-forward';

function fail(message: string): never {
  console.error(`worker: ${message}`);
  process.exit(1);
}

// A shutdown that hangs (a job that never finishes, a backend that stopped answering) must not
// keep an orchestrator waiting for ever; it will SIGKILL us anyway, better to say why first.
const SHUTDOWN_TIMEOUT_MS = 30_000;

let databaseUrl: string;
let dataDir: string;
try {
  const env = loadEnv();
  if (!env.DATABASE_URL) fail('DATABASE_URL is not set (npm start sets it for the embedded database)');
  databaseUrl = env.DATABASE_URL;
  dataDir = path.resolve(env.GATEHOUSE_DATA_DIR);
  configStore();
} catch (error) {
  if (error instanceof EnvError || error instanceof ConfigError) fail(error.message);
  throw error;
}

// The worker holds the checkpoint signing key and runs as the app role: a privileged login role
// would let anything running here rewrite the trail it signs, so it refuses one.
const roleVerdict = await checkAppRole(databaseUrl).catch((error: Error) => fail(`database: ${error.message}`));
if (!roleVerdict.ok) fail(roleVerdict.reason);
if (roleVerdict.warning) console.warn(`worker: ${roleVerdict.warning}`);

// gatehouse.yaml's `tenant` names the installation's tenant: an edit renames it, once, here.
await followTenantConfig(configStore(), {
  info: (line) => console.log(`worker: ${line}`),
  warn: (line) => console.warn(`worker: ${line}`),
  error: (line) => console.error(`worker: ${line}`),
}).catch((error: Error) => console.error(`worker: tenant: ${error.message}`));

let checkpoints: CheckpointContext;
try {
  checkpoints = await loadCheckpointContext(dataDir);
} catch (error) {
  fail(`checkpoint key: ${error instanceof Error ? error.message : String(error)}`);
}
console.log(`worker: signing audit checkpoints with key ${checkpoints.signer.keyId} (${checkpoints.signer.source})`);

/** The last word before the pool closes: every chain head as it stands, signed. */
async function signAtShutdown(): Promise<void> {
  try {
    const run = await runCheckpoints(checkpoints, (line) => console.error(`worker: ${line}`));
    console.log(`worker: checkpoints at shutdown: ${run.signed.length} signed, ${run.unchanged} unchanged`);
  } catch (error) {
    if (!(error instanceof CheckpointsRefusedError)) console.error(`worker: checkpoints at shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const client = queueClient();
let stopping = false;

async function shutdown(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`worker: ${why}, closing`);
  setTimeout(() => fail(`shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS / 1000} s`), SHUTDOWN_TIMEOUT_MS).unref();
  try {
    // Workers finish their current job first; the audit events those jobs queued are committed
    // before the database pool goes away.
    await closeQueueClient();
    await closeConfigStore();
    await drainBackgroundTasks();
    await closeGatewayLimits();
    await closeAuditWriter();
    await signAtShutdown();
    await closeDatabase();
    console.log('worker: stopped');
    process.exit(0);
  } catch (error) {
    fail(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

process.on('SIGINT', (signal) => void shutdown(`${signal} received`));
process.on('SIGTERM', (signal) => void shutdown(`${signal} received`));
// A closed terminal (SIGHUP reaches its whole process group) drains like a stop; writing to
// the terminal fails from then on (EIO), which must not end the drain.
process.on('SIGHUP', (signal) => {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  void shutdown(`${signal} received`);
});
// Under npm start, the supervisor's IPC channel closes when it dies however it dies (SIGKILL
// included): the worker drains and exits rather than running on as an orphan.
if (process.send) {
  // It may have died while we started, before this line: the 'disconnect' has passed then.
  if (!process.connected) void shutdown('supervisor gone');
  else {
    process.on('disconnect', () => void shutdown('supervisor gone'));
    process.channel?.unref();
  }
}

function logFailures(worker: AnyWorker): void {
  worker.on('failed', (job, error) => {
    const attempts = job ? ` (attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1})` : '';
    console.error(`worker: ${worker.name} job ${job?.id ?? '?'} failed${attempts}: ${error.message}`);
  });
}

try {
  const workers = [await startHousekeeping(client), await startContentPurge(client), await startCheckpoints(client, checkpoints), await startReconciler(client), await startSiemForwarder(client), await startCostRollup(client), await startBudgetAlerts(client)];
  workers.forEach(logFailures);
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  console.log(`worker: ready (queue backend: ${client.backend})`);
} catch (error) {
  if (!stopping) fail(`could not start: ${error instanceof Error ? error.message : String(error)}`);
}
