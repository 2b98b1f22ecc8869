import { DEFAULT_SCHEMA, quoteSchemaName, runMigrations } from 'bullmq';
import pg from 'pg';
import { poolConfigFromUrl } from '@/lib/db/connection';
import { APP_ROLE } from '@/lib/db/pool';

/**
 * Creates or upgrades BullMQ's PostgreSQL schema as the migration role, then lets the application
 * role use it: read and write the queue tables and call BullMQ's functions (which create a
 * sequence per queue, hence CREATE on this schema only). The app's own connections never run
 * DDL on shared objects (postgresConnection sets `migrate: false`), and its role owns no table.
 * Idempotent; `npm start`, `gatehouse db migrate` and the test setup run it.
 */
export async function prepareQueueSchema(migrationUrl: string, schema: string = DEFAULT_SCHEMA): Promise<void> {
  const quoted = quoteSchemaName(schema);
  const client = new pg.Client({ ...poolConfigFromUrl(migrationUrl), application_name: 'gatehouse-migrate' });
  await client.connect();
  try {
    await runMigrations(client, schema);
    const app = client.escapeIdentifier(APP_ROLE);
    await client.query(`
      GRANT USAGE, CREATE ON SCHEMA ${quoted} TO ${app};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${quoted} TO ${app};
      REVOKE INSERT, UPDATE, DELETE ON ${quoted}.migration FROM ${app};
      GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${quoted} TO ${app};
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${quoted} TO ${app};`);
  } finally {
    await client.end();
  }
}
