import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedPostgres } from './embedded';
import { withDatabase } from './connection';
import { ensureDatabase } from './admin';

export const DEFAULT_DATABASE_NAME = 'gatehouse';

export function dataDir(): string {
  return path.resolve(process.env.GATEHOUSE_DATA_DIR ?? '.data');
}

/**
 * Runs `work` with a database URL: DATABASE_URL when set, otherwise the embedded cluster under
 * the data directory (started for the duration of `work`). Used by one-shot commands.
 */
export async function withDatabaseServer<T>(work: (databaseUrl: string) => Promise<T>): Promise<T> {
  if (process.env.DATABASE_URL) return work(process.env.DATABASE_URL);
  const server = await startEmbeddedPostgres(dataDir());
  try {
    await ensureDatabase(server.adminUrl, DEFAULT_DATABASE_NAME);
    return await work(withDatabase(server.adminUrl, DEFAULT_DATABASE_NAME));
  } finally {
    await server.stop();
  }
}

/**
 * While `npm start` runs the embedded cluster, it records where in `<dataDir>/runtime.json`, so
 * the CLI can talk to the running cluster instead of trying to start a second one on the same
 * data directory (which PostgreSQL refuses).
 */
export interface RuntimeInfo {
  databaseUrl: string;
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

export function readRuntimeInfo(): RuntimeInfo | null {
  try {
    const info = JSON.parse(readFileSync(runtimeFile(), 'utf8')) as RuntimeInfo;
    return processIsAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

export async function writeRuntimeInfo(info: RuntimeInfo): Promise<void> {
  await writeFile(runtimeFile(), JSON.stringify(info), { mode: 0o600 });
}

export async function removeRuntimeInfo(): Promise<void> {
  await rm(runtimeFile(), { force: true });
}

/**
 * For one-shot commands: DATABASE_URL, else the cluster a running `npm start` owns, else the
 * embedded cluster started just for `work`.
 */
export async function withAnyDatabase<T>(work: (databaseUrl: string) => Promise<T>): Promise<T> {
  const running = process.env.DATABASE_URL ? null : readRuntimeInfo();
  if (running) return work(running.databaseUrl);
  return withDatabaseServer(work);
}
