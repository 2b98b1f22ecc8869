import packageJson from '@/package.json';
import { databaseUrl, pool } from '@/lib/db/client';
import { queueBackendReady } from '@/lib/queue/health';
import { unappliedMigrations } from './migration-status';

/** A dependency that hangs must turn into a failed check, not a readiness probe that hangs. */
const CHECK_TIMEOUT_MS = 5_000;

const NO_STORE = { 'cache-control': 'no-store' };

export interface CheckResult {
  ok: boolean;
  error?: string;
  [detail: string]: unknown;
}

export interface ReadinessBody {
  status: 'ready' | 'not_ready';
  checks: {
    database: CheckResult & { latency_ms?: number };
    migrations: CheckResult & { pending: string[] };
    queue: CheckResult & { backend?: string };
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function withTimeout<T>(work: () => Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkDatabase(): Promise<ReadinessBody['checks']['database']> {
  const started = performance.now();
  try {
    await withTimeout(() => pool().query('SELECT 1'), 'database');
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, error: describe(error) };
  }
}

// Once every migration on disk is applied it stays so for the life of this process (new
// migrations arrive only with a new build), so that answer is remembered per database and later
// probes skip the query. A "pending" answer is asked again on the next probe.
const fullyMigrated = new Set<string>();

async function checkMigrations(): Promise<ReadinessBody['checks']['migrations']> {
  try {
    const url = databaseUrl();
    if (fullyMigrated.has(url)) return { ok: true, pending: [] };
    const pending = await withTimeout(() => unappliedMigrations(pool()), 'migration history');
    if (pending.length === 0) fullyMigrated.add(url);
    return { ok: pending.length === 0, pending };
  } catch (error) {
    return { ok: false, pending: [], error: describe(error) };
  }
}

async function checkQueue(): Promise<ReadinessBody['checks']['queue']> {
  try {
    const result = await withTimeout(() => queueBackendReady(), 'queue backend');
    return { ok: result.ok, backend: result.backend, ...(result.error ? { error: result.error } : {}) };
  } catch (error) {
    return { ok: false, error: describe(error) };
  }
}

function methodNotAllowed(): Response {
  return Response.json(
    { error: { type: 'method_not_allowed', message: 'use GET' } },
    { status: 405, headers: { allow: 'GET, HEAD', ...NO_STORE } },
  );
}

function isProbeMethod(request: Request): boolean {
  return request.method === 'GET' || request.method === 'HEAD';
}

/** Liveness: the process answers. Deliberately checks nothing else, so a database outage does not get the process restarted. */
export async function handleHealthz(request: Request): Promise<Response> {
  if (!isProbeMethod(request)) return methodNotAllowed();
  return Response.json({ status: 'ok', uptime_s: Math.floor(process.uptime()), version: packageJson.version }, { headers: NO_STORE });
}

export async function readiness(): Promise<ReadinessBody> {
  const [database, migrations, queue] = await Promise.all([checkDatabase(), checkMigrations(), checkQueue()]);
  const ready = database.ok && migrations.ok && queue.ok;
  return { status: ready ? 'ready' : 'not_ready', checks: { database, migrations, queue } };
}

/** Readiness: 200 only when the database, its schema and the queue backend can serve traffic. */
export async function handleReadyz(request: Request): Promise<Response> {
  if (!isProbeMethod(request)) return methodNotAllowed();
  const body = await readiness();
  return Response.json(body, { status: body.status === 'ready' ? 200 : 503, headers: NO_STORE });
}
