import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { appRolePassword, startEmbeddedPostgres, type EmbeddedServer } from './embedded';
import { withDatabase } from './connection';
import { ensureDatabase } from './admin';
import { ALLOW_PRIVILEGED_ROLE_VARIABLE, appLoginUrl, ensureAppLoginRole, migrationDatabaseUrl, MIGRATION_URL_VARIABLE } from './roles';

export const DEFAULT_DATABASE_NAME = 'gatehouse';

export function dataDir(): string {
  return path.resolve(process.env.GATEHOUSE_DATA_DIR ?? '.data');
}

/**
 * Who a connection is for: the application (its least-privileged login role), or migrations
 * (the role that owns the schema).
 */
export type DatabasePurpose = 'app' | 'migration';

export interface DatabaseUrls {
  appUrl: string;
  migrationUrl: string;
}

/**
 * The embedded cluster's Gatehouse database, created when missing, and its two logins: the
 * superuser for migrations, and the application role with its own generated password (kept in
 * the data directory, mode 0600), made able to log in.
 */
export async function embeddedDatabaseUrls(server: EmbeddedServer, rootDir: string = dataDir()): Promise<DatabaseUrls> {
  await ensureDatabase(server.adminUrl, DEFAULT_DATABASE_NAME);
  const migrationUrl = withDatabase(server.adminUrl, DEFAULT_DATABASE_NAME);
  const password = await appRolePassword(rootDir);
  await ensureAppLoginRole(server.adminUrl, password);
  return { appUrl: appLoginUrl(migrationUrl, password), migrationUrl };
}

/** With DATABASE_URL set: the URL for `purpose`, or why there is none for migrations. */
function configuredUrl(purpose: DatabasePurpose): string {
  const appUrl = process.env.DATABASE_URL!;
  if (purpose === 'app') return appUrl;
  const migrationUrl = migrationDatabaseUrl();
  if (!migrationUrl) {
    throw new Error(
      `migrations need the role that owns the schema: set ${MIGRATION_URL_VARIABLE} ` +
        `(or ${ALLOW_PRIVILEGED_ROLE_VARIABLE}=1 to migrate with DATABASE_URL's role)`,
    );
  }
  return migrationUrl;
}

/**
 * Runs `work` with a database URL for `purpose`: from DATABASE_URL (and
 * GATEHOUSE_MIGRATION_DATABASE_URL) when set, otherwise the embedded cluster under the data
 * directory (started for the duration of `work`). Used by one-shot commands.
 */
export async function withDatabaseServer<T>(work: (databaseUrl: string) => Promise<T>, purpose: DatabasePurpose = 'app'): Promise<T> {
  if (process.env.DATABASE_URL) return work(configuredUrl(purpose));
  const server = await startEmbeddedPostgres(dataDir());
  try {
    const urls = await embeddedDatabaseUrls(server);
    if (purpose === 'app') await migrateIfNew(urls.migrationUrl);
    return await work(purpose === 'app' ? urls.appUrl : urls.migrationUrl);
  } finally {
    await server.stop();
  }
}

/**
 * A data directory `npm start` never ran on has a cluster but no schema: the command would end in
 * "table does not exist". We hold the superuser here, so we migrate, as the first start would.
 */
async function migrateIfNew(migrationUrl: string): Promise<void> {
  // Loaded here: most commands run against a migrated database and never need them.
  const { unappliedMigrations } = await import('@/lib/http/migration-status');
  const { applyMigrations } = await import('./migrations');
  const pool = new pg.Pool({ connectionString: migrationUrl, max: 1 });
  const pending = await unappliedMigrations(pool).finally(() => pool.end());
  if (pending.length === 0) return;
  console.error(`gatehouse: ${dataDir()} has no Gatehouse schema yet; applying ${pending.length} migration(s) first`);
  await applyMigrations(migrationUrl);
}

/**
 * While `npm start` runs, it records in `<dataDir>/runtime.json` what the CLI must agree with:
 * the public URL the server issues tokens as (so `gatehouse token mint` mints for it), and, with
 * the embedded cluster, where that cluster listens (so the CLI talks to it instead of trying to
 * start a second one on the same data directory, which PostgreSQL refuses).
 */
export interface RuntimeInfo {
  /** The application role's URL (what web and worker use); set when start runs the embedded cluster. */
  databaseUrl?: string;
  /** The superuser's, for `gatehouse db migrate`; the file is mode 0600 like pg-password beside it. */
  migrationDatabaseUrl?: string;
  publicUrl: string;
  pid: number;
}

export function runtimeFile(): string {
  return path.join(dataDir(), 'runtime.json');
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const runtimeInfoSchema = z.object({
  databaseUrl: z.string().min(1).optional(),
  migrationDatabaseUrl: z.string().min(1).optional(),
  publicUrl: z.string().min(1),
  pid: z.number().int().positive(),
});

/** The running `npm start`'s record, or null when none runs (no file, a stale one, or one from an older version). */
export function readRuntimeInfo(): RuntimeInfo | null {
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(runtimeFile(), 'utf8'));
  } catch {
    return null;
  }
  const parsed = runtimeInfoSchema.safeParse(content);
  return parsed.success && processIsAlive(parsed.data.pid) ? parsed.data : null;
}

export async function writeRuntimeInfo(info: RuntimeInfo): Promise<void> {
  await writeFile(runtimeFile(), JSON.stringify(info), { mode: 0o600 });
}

export async function removeRuntimeInfo(): Promise<void> {
  await rm(runtimeFile(), { force: true });
}

/**
 * For one-shot commands: DATABASE_URL (or the migration URL), else the cluster a running
 * `npm start` owns, else the embedded cluster started just for `work`.
 */
export async function withAnyDatabase<T>(work: (databaseUrl: string) => Promise<T>, purpose: DatabasePurpose = 'app'): Promise<T> {
  const running = process.env.DATABASE_URL ? null : readRuntimeInfo();
  const url = purpose === 'app' ? running?.databaseUrl : running?.migrationDatabaseUrl;
  if (url) return work(url);
  return withDatabaseServer(work, purpose);
}
