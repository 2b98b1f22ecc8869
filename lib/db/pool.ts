import pg from 'pg';
import { poolConfigFromUrl } from './connection';

/** The role every application connection runs as: it may append audit rows, never rewrite them. */
export const APP_ROLE = 'gatehouse_app';

export function appPoolConfig(databaseUrl: string, max = Number(process.env.GATEHOUSE_DB_POOL_SIZE ?? 10)): pg.PoolConfig {
  const role = process.env.GATEHOUSE_DB_ROLE ?? APP_ROLE;
  return {
    ...poolConfigFromUrl(databaseUrl),
    max,
    // Setting the role at connection start costs nothing per query and cannot be forgotten.
    options: role ? `-c role=${role}` : undefined,
    application_name: 'gatehouse',
  };
}

export function createAppPool(databaseUrl: string, max?: number): pg.Pool {
  const pool = new pg.Pool(appPoolConfig(databaseUrl, max));
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) => console.error(`database pool: ${error.message}`));
  return pool;
}
