import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase } from '@/lib/db/client';
import { withAnyDatabase } from '@/lib/db/server';
import { drainBackgroundTasks } from '@/lib/platform/background';

/** Runs `work` with DATABASE_URL pointing at the installation's database, then disconnects. */
export function withCliDatabase<T>(work: () => Promise<T>): Promise<T> {
  return withAnyDatabase(async (databaseUrl) => {
    process.env.DATABASE_URL = databaseUrl;
    try {
      return await work();
    } finally {
      // Work a command started in the background (revoking deleted grants at their provider, and
      // the audit events it records) finishes before the audit writer and the pool go away.
      const unfinished = await drainBackgroundTasks();
      if (unfinished > 0) console.error(`gatehouse: ${unfinished} background task(s) still running at exit; their work is lost`);
      // Queued audit events are written before the pool they use goes away.
      await closeAuditWriter();
      await closeDatabase();
    }
  });
}
