import type { ConnectionOptions } from 'bullmq';
import { poolConfigFromUrl } from '@/lib/db/connection';
import type { PostgresPoolConfig } from 'bullmq';

export type QueueBackendKind = 'redis' | 'postgres';

/** Where jobs live: Redis when REDIS_URL is set, otherwise BullMQ's PostgreSQL backend in our database. */
export type QueueBackendSettings =
  | { kind: 'redis'; url: string; prefix: string }
  /** `schema` defaults to BullMQ's own `bullmq`; a different one keeps separate job sets apart (tests). */
  | { kind: 'postgres'; databaseUrl: string; schema?: string };

export const DEFAULT_REDIS_PREFIX = 'gatehouse';

export function queueBackendFromEnv(source: Record<string, string | undefined> = process.env): QueueBackendSettings {
  if (source.REDIS_URL) return { kind: 'redis', url: source.REDIS_URL, prefix: source.GATEHOUSE_REDIS_PREFIX || DEFAULT_REDIS_PREFIX };
  if (source.DATABASE_URL) return { kind: 'postgres', databaseUrl: source.DATABASE_URL };
  throw new Error('no queue backend: set REDIS_URL, or DATABASE_URL for the PostgreSQL backend');
}

/**
 * ioredis options for BullMQ. Each Queue and Worker opens its own connections from these and
 * closes them with itself. Workers block on Redis and must ride out a reconnect (BullMQ requires
 * maxRetriesPerRequest: null for them); producers run inside requests, where an error after a
 * few retries beats a request that hangs for the length of a Redis outage.
 */
export function redisConnection(url: string, role: 'producer' | 'worker'): ConnectionOptions {
  return role === 'worker' ? { url, maxRetriesPerRequest: null } : { url };
}

/**
 * pg settings for BullMQ's PostgreSQL backend: its own small pools, logging in as DATABASE_URL's
 * role like the application pool. That role may not run DDL on shared objects, so the backend
 * only checks the schema version here (`migrate: false`); the schema itself is created and
 * upgraded by the migration role (prepareQueueSchema, run by `npm start` and `gatehouse db migrate`).
 */
export function postgresConnection(databaseUrl: string, schema?: string): PostgresPoolConfig {
  const { password, ...fields } = poolConfigFromUrl(databaseUrl);
  return {
    ...fields,
    // poolConfigFromUrl only ever yields a string here; BullMQ's type has no room for pg's callback form.
    password: typeof password === 'string' ? password : undefined,
    migrate: false,
    ...(schema ? { schema } : {}),
    // Each Queue/Worker has its own pool plus one LISTEN connection; few are needed.
    max: 3,
    application_name: 'gatehouse-queue',
  };
}
