// What `npm start`'s one-shot setup (scripts/setup.ts) settles and hands to its supervisor
// (scripts/start.mjs, plain JavaScript that imports nothing of the app), and what the web
// processes tell it. The supervisor reads these messages as plain objects; the shapes are here.
import os from 'node:os';

/** What `npm start` has settled by the time it starts the web server and the worker. */
export interface ChildSettings {
  databaseUrl: string;
  secret: string;
  /** The one public URL (lib/platform/public-url): issuer, audiences, next-auth's URL. */
  publicUrl: string;
  port: number;
  host: string;
}

/**
 * The environment of the web and worker processes: the parent's, with what start settled made
 * explicit, so every process (and the CLI, through the runtime file) agrees on one public URL
 * instead of each deriving its own.
 */
export function childEnvironment(parent: NodeJS.ProcessEnv, settings: ChildSettings): NodeJS.ProcessEnv {
  return {
    ...parent,
    DATABASE_URL: settings.databaseUrl,
    GATEHOUSE_SECRET: settings.secret,
    GATEHOUSE_PUBLIC_URL: settings.publicUrl,
    NEXTAUTH_URL: settings.publicUrl,
    PORT: String(settings.port),
    HOST: settings.host,
    // The supervisor has printed what it loaded (gatehouse.yaml); children do not repeat it.
    GATEHOUSE_SUPERVISED: '1',
  };
}

/** How many web processes share the port, and why, for the start-up line. */
export interface WebProcessPlan {
  count: number;
  reason: string;
}

/**
 * The default's ceiling: each web process holds a pool of up to GATEHOUSE_DB_POOL_SIZE (10)
 * connections, so 8 of them and the worker stay well within the embedded PostgreSQL's
 * max_connections (200, lib/db/embedded.ts) and a stock server's 100.
 */
export const MAX_DEFAULT_WEB_PROCESSES = 8;

/**
 * WEB_CONCURRENCY, or every core up to MAX_DEFAULT_WEB_PROCESSES. Without Redis, rate limits and budget reservations are counted
 * in each web process's memory (lib/gateway/limits): two processes would each admit the full
 * limit, so without REDIS_URL there is one web process, and asking for more is refused.
 */
export function webProcessPlan(settings: { WEB_CONCURRENCY?: number; REDIS_URL?: string }, options: { dev: boolean; cores?: number }): WebProcessPlan | { error: string } {
  const requested = settings.WEB_CONCURRENCY;
  if (options.dev) return { count: 1, reason: 'development mode' };
  if (!settings.REDIS_URL) {
    if (requested !== undefined && requested > 1) {
      return { error: `WEB_CONCURRENCY=${requested} needs REDIS_URL: without Redis each web process would count rate limits and budgets on its own, letting through ${requested} times the limit` };
    }
    return { count: 1, reason: 'no REDIS_URL: rate limits and budgets are counted in process; set REDIS_URL to use every core' };
  }
  if (requested !== undefined) return { count: requested, reason: 'WEB_CONCURRENCY' };
  const cores = options.cores ?? os.availableParallelism();
  if (cores > MAX_DEFAULT_WEB_PROCESSES) return { count: MAX_DEFAULT_WEB_PROCESSES, reason: `one per core, at most ${MAX_DEFAULT_WEB_PROCESSES} (WEB_CONCURRENCY to run more)` };
  return { count: cores, reason: `one per core` };
}

/** What the setup sends the supervisor once the database is ready, just before it exits. */
export interface PreparedMessage {
  type: 'prepared';
  /** The web server's and the worker's environment (childEnvironment). */
  env: NodeJS.ProcessEnv;
  web: WebProcessPlan;
  publicUrl: string;
  port: number;
  adminEmail: string;
  /** `<data dir>/runtime.json`, which the supervisor removes when it stops. */
  runtimeFile: string;
  /** The embedded cluster, left running for the supervisor to stop (by pid, at shutdown). */
  postgres: { pid: number; pidFile: string } | null;
}

/** What the web process tells the supervisor over IPC once it listens (scripts/web.ts). */
export interface ListeningMessage {
  type: 'listening';
  url: string;
}
