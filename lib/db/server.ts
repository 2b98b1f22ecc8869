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
