import { oneLineError } from '@/lib/db/errors';
import { applyMigrations } from '@/lib/db/migrations';
import { withAnyDatabase } from '@/lib/db/server';
import { CliError } from '../run';

const HELP = `Usage: gatehouse db migrate

Applies every migration in prisma/migrations that the database has not applied yet,
offline, through Prisma's WebAssembly schema engine, and prepares BullMQ's PostgreSQL schema
when the queues use it (no REDIS_URL). Runs as the role that owns the schema:
GATEHOUSE_MIGRATION_DATABASE_URL when DATABASE_URL is set, the embedded superuser otherwise.`;

export async function dbCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || rest.includes('--help')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub !== 'migrate') throw new CliError(`unknown db command "${sub}" (try gatehouse db --help)`, 2);
  if (rest.length > 0) throw new CliError(`unexpected argument "${rest[0]}"`, 2);
  const applied = await withAnyDatabase(async (url) => {
    const names = await applyMigrations(url);
    // Loaded here: BullMQ is heavy, and every other command starts without it.
    const { queueBackendFromEnv } = await import('@/lib/queue/connection');
    if (queueBackendFromEnv({ ...process.env, DATABASE_URL: url }).kind === 'postgres') {
      const { prepareQueueSchema } = await import('@/lib/queue/postgres-schema');
      await prepareQueueSchema(url);
    }
    return names;
  }, 'migration').catch((error: unknown) => {
    throw new CliError(oneLineError(error));
  });
  console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date');
  return 0;
}
