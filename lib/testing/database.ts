import { createHash } from 'node:crypto';
import { ensureDatabase } from '@/lib/db/admin';
import { withDatabase } from '@/lib/db/connection';
import { applyMigrations } from '@/lib/db/migrations';
import { appLoginUrl, ensureAppLoginRole } from '@/lib/db/roles';
import type { QueueBackendSettings } from '@/lib/queue/connection';
import { prepareQueueSchema } from '@/lib/queue/postgres-schema';

export interface TestDatabase {
  /** Logs in as the least-privileged application role, as the product does: tests' DATABASE_URL. */
  appUrl: string;
  /** The server's superuser on the same database: migrations and tests that play an attacker. */
  superuserUrl: string;
}

/**
 * The app role's password on a server that asks for one (the embedded test cluster, a CI server
 * with password auth). Derived from the superuser's, so concurrent runs sharing the server agree
 * on it and re-running changes nothing; on a trust-auth server the role gets no password at all.
 */
function appPasswordFor(adminUrl: string): string | undefined {
  const superuserPassword = decodeURIComponent(new URL(adminUrl).password);
  if (!superuserPassword) return undefined;
  return createHash('sha256').update(`gatehouse-test-app-role:${superuserPassword}`).digest('base64url');
}

/**
 * A database of its own on the server behind `adminUrl` (a superuser URL), migrated by the
 * superuser, with the application login role and BullMQ's PostgreSQL schema ready, as
 * `npm start` leaves an installation.
 */
export async function createTestDatabase(adminUrl: string, database: string): Promise<TestDatabase> {
  await ensureDatabase(adminUrl, database);
  const superuserUrl = withDatabase(adminUrl, database);
  await applyMigrations(superuserUrl);
  const password = appPasswordFor(adminUrl);
  await ensureAppLoginRole(adminUrl, password);
  await prepareQueueSchema(superuserUrl);
  return { appUrl: appLoginUrl(superuserUrl, password), superuserUrl };
}

/** Tests with a queue schema of their own prepare it as `npm start` prepares BullMQ's default one. */
export async function prepareTestQueueBackend(settings: QueueBackendSettings): Promise<void> {
  if (settings.kind !== 'postgres') return;
  const superuserUrl = process.env.GATEHOUSE_TEST_SUPERUSER_URL;
  if (!superuserUrl) throw new Error('GATEHOUSE_TEST_SUPERUSER_URL is not set (run through vitest)');
  await prepareQueueSchema(superuserUrl, settings.schema);
}
