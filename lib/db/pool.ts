import pg from 'pg';
import { poolConfigFromUrl } from './connection';

/** The role every application connection runs as: it may append audit rows, never rewrite them. */
export const APP_ROLE = 'gatehouse_app';

/**
 * How long the pool and PostgreSQL may take before giving up, so an exhausted pool or a stuck
 * query turns into a fast, retryable error instead of requests that hang until the client gives up.
 */
export interface DatabaseTimeouts {
  /** Waiting for a free pooled connection, or for a new one to be established. */
  connectMs: number;
  /** PostgreSQL's statement_timeout for every statement on an application connection. */
  statementMs: number;
  /** PostgreSQL's idle_in_transaction_session_timeout: a transaction left open (holding locks) is ended. */
  idleInTransactionMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { connectMs: 3_000, statementMs: 30_000, idleInTransactionMs: 60_000 };

function millis(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  // lib/env.ts reports bad values at start; a process that skipped it still gets the default.
  return Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
}

export function databaseTimeouts(source: Record<string, string | undefined> = process.env): DatabaseTimeouts {
  return {
    connectMs: millis(source.GATEHOUSE_DB_CONNECT_TIMEOUT_MS, DEFAULT_DATABASE_TIMEOUTS.connectMs),
    statementMs: millis(source.GATEHOUSE_DB_STATEMENT_TIMEOUT_MS, DEFAULT_DATABASE_TIMEOUTS.statementMs),
    idleInTransactionMs: millis(source.GATEHOUSE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS, DEFAULT_DATABASE_TIMEOUTS.idleInTransactionMs),
  };
}

/**
 * No database connection could be had within the connect timeout: every pooled connection is
 * busy, or the server is too slow to accept a new one. Nothing was sent; retrying later is safe.
 * The gateway answers it as `529 overloaded_error`.
 */
export class DatabaseBusyError extends Error {
  override name = 'DatabaseBusyError';
  constructor(
    readonly reason: 'pool_exhausted' | 'connect_timeout',
    timeoutMs: number,
    options?: { cause: unknown },
  ) {
    super(
      reason === 'pool_exhausted'
        ? `no database connection free within ${timeoutMs} ms (pool exhausted)`
        : `could not connect to the database within ${timeoutMs} ms`,
      options,
    );
  }
}

/** Whether `error` (or anything in its cause chain, as wrappers keep it) is a DatabaseBusyError. */
export function isDatabaseBusy(error: unknown): error is DatabaseBusyError {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    if (current instanceof DatabaseBusyError) return true;
  }
  return false;
}

// The two messages pg-pool gives its timeouts (pg-pool 3.x); anything else passes through unchanged.
const POOL_EXHAUSTED_MESSAGE = 'timeout exceeded when trying to connect';
const CONNECT_TIMEOUT_MESSAGE = 'Connection terminated due to connection timeout';

function typedTimeout(error: Error | undefined, timeoutMs: number): Error | undefined {
  if (!error || error instanceof DatabaseBusyError) return error;
  if (error.message === POOL_EXHAUSTED_MESSAGE) return new DatabaseBusyError('pool_exhausted', timeoutMs, { cause: error });
  if (error.message === CONNECT_TIMEOUT_MESSAGE) return new DatabaseBusyError('connect_timeout', timeoutMs, { cause: error });
  return error;
}

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * pg.Pool whose connection timeouts arrive as DatabaseBusyError. pool.query() checks out through
 * connect(callback), and Prisma's adapter through connect(), so both forms are covered.
 */
class AppPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const timeoutMs = this.options.connectionTimeoutMillis ?? 0;
    if (callback) {
      super.connect(((error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) =>
        callback(typedTimeout(error, timeoutMs), client, done)) as Parameters<pg.Pool['connect']>[0]);
      return;
    }
    return super.connect().catch((error: Error) => {
      throw typedTimeout(error, timeoutMs);
    });
  }
}

export function appPoolConfig(
  databaseUrl: string,
  max = Number(process.env.GATEHOUSE_DB_POOL_SIZE ?? 10),
  timeouts: DatabaseTimeouts = databaseTimeouts(),
): pg.PoolConfig {
  const role = process.env.GATEHOUSE_DB_ROLE ?? APP_ROLE;
  return {
    ...poolConfigFromUrl(databaseUrl),
    max,
    // Setting the role at connection start costs nothing per query and cannot be forgotten. The
    // login role itself must not be privileged (lib/db/roles.ts checks at start): RESET ROLE
    // returns to it, so this is a default, not a boundary.
    options: role ? `-c role=${role}` : undefined,
    application_name: 'gatehouse',
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
  };
}

export function createAppPool(databaseUrl: string, max?: number, timeouts?: DatabaseTimeouts): pg.Pool {
  const pool = new AppPool(appPoolConfig(databaseUrl, max, timeouts));
  // An idle client losing its connection must not crash the process; the pool replaces it. Once
  // the pool is ending, end() may resolve before every socket has closed, and a server stopping
  // right after (the embedded one) terminates the stragglers: nothing worth reporting.
  pool.on('error', (error) => {
    if (!pool.ending) console.error(`database pool: ${error.message}`);
  });
  return pool;
}
