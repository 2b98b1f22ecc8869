// The SECURITY DEFINER functions run with the migration role's rights on behalf of the app role:
// nothing the app role can create (a function in a schema it may write, a temporary table) may
// stand in for what they call or look up.
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, pool } from '@/lib/db/client';
import { superuserClient } from './testing/fixtures';

let superuser: pg.Client;

beforeAll(async () => {
  superuser = await superuserClient();
});

afterAll(async () => {
  await superuser.end();
  await closeDatabase();
});

/** Runs `work` on an app-role connection inside a transaction that is always rolled back. */
async function asAppRoleRolledBack(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool().connect();
  try {
    await client.query('BEGIN');
    await work(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

describe('SECURITY DEFINER functions', () => {
  it('audit_store_content ignores functions the app role plants in public', async () => {
    // As PostgreSQL before 15 allows by default, and a cluster upgraded from one keeps.
    await superuser.query('GRANT CREATE ON SCHEMA public TO gatehouse_app');
    try {
      await asAppRoleRolledBack(async (client) => {
        // Preferred by overload resolution to pg_catalog.convert_to(text, name) for a literal 'UTF8'.
        await client.query(`CREATE FUNCTION public.convert_to(body text, encoding text) RETURNS bytea LANGUAGE plpgsql AS $$
          BEGIN
            RAISE EXCEPTION 'planted convert_to ran as %', current_user;
          END $$`);
        const body = `planted ${randomUUID()}`;
        const stored = client.query("SELECT audit_store_content(ARRAY[$1::uuid], ARRAY[$2::bytea], ARRAY['prompt'], ARRAY['text/plain'], ARRAY[$3], ARRAY[7]) AS stored", [
          randomUUID(),
          createHash('sha256').update(body, 'utf8').digest(),
          body,
        ]);
        await expect(stored).resolves.toMatchObject({ rows: [{ stored: 1 }] });
      });
    } finally {
      await superuser.query('REVOKE CREATE ON SCHEMA public FROM gatehouse_app');
    }
  });

  it('audit_ensure_partition is not fooled by a temporary table named like the partition', async () => {
    await asAppRoleRolledBack(async (client) => {
      await client.query('CREATE TEMPORARY TABLE audit_events_2099_01 (id int)');
      const { rows } = await client.query<{ name: string }>("SELECT audit_ensure_partition('2099-01-15T00:00:00Z') AS name");
      expect(rows[0]!.name).toBe('audit_events_2099_01');
      const { rows: found } = await client.query<{ partition: boolean }>("SELECT relispartition AS partition FROM pg_class WHERE oid = to_regclass('public.audit_events_2099_01')");
      expect(found).toEqual([{ partition: true }]);
    });
  });
});
