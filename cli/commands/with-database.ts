import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase } from '@/lib/db/client';
import { withAnyDatabase } from '@/lib/db/server';

/** Runs `work` with DATABASE_URL pointing at the installation's database, then disconnects. */
export function withCliDatabase<T>(work: () => Promise<T>): Promise<T> {
  return withAnyDatabase(async (databaseUrl) => {
    process.env.DATABASE_URL = databaseUrl;
    try {
      return await work();
    } finally {
      // Queued audit events are written before the pool they use goes away.
      await closeAuditWriter();
      await closeDatabase();
    }
  });
}
