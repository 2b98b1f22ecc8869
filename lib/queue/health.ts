import { Redis } from 'ioredis';
import pg from 'pg';
import { poolConfigFromUrl } from '@/lib/db/connection';
import { queueBackendFromEnv, type QueueBackendKind, type QueueBackendSettings } from './connection';

export interface QueueBackendHealth {
  ok: boolean;
  backend: QueueBackendKind;
  error?: string;
}

const CONNECT_TIMEOUT_MS = 3_000;

/** Node reports a refused dual-stack connect as an AggregateError with an empty message. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

async function pingRedis(url: string): Promise<void> {
  // A fresh connection that gives up at once: a probe must report an outage, not retry through it.
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis rejects connect() with a bare "Connection is closed."; the cause arrives as 'error'.
  let cause: Error | undefined;
  redis.on('error', (error: Error) => (cause ??= error));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw cause ?? error;
  } finally {
    redis.disconnect();
  }
}

async function pingPostgres(databaseUrl: string): Promise<void> {
  // The login user, as the queues use (see postgresConnection).
  const client = new pg.Client({ ...poolConfigFromUrl(databaseUrl), application_name: 'gatehouse-queue-probe', connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether the queue backend answers, over the same kind of connection the queues use. Used by /readyz.
 */
export async function queueBackendReady(settings?: QueueBackendSettings): Promise<QueueBackendHealth> {
  let resolved: QueueBackendSettings;
  try {
    resolved = settings ?? queueBackendFromEnv();
  } catch (error) {
    return { ok: false, backend: 'postgres', error: (error as Error).message };
  }
  try {
    if (resolved.kind === 'redis') await pingRedis(resolved.url);
    else await pingPostgres(resolved.databaseUrl);
    return { ok: true, backend: resolved.kind };
  } catch (error) {
    return { ok: false, backend: resolved.kind, error: describe(error) };
  }
}
