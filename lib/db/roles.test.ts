import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superuserClient } from '@/lib/audit/testing/fixtures';
import { closeDatabase, pool } from './client';
import { appLoginUrl, appRolePrivileges, checkAppRole, describePrivilege, migrationDatabaseUrl } from './roles';

const appUrl = () => process.env.DATABASE_URL!;
const superuserUrl = () => process.env.GATEHOUSE_TEST_SUPERUSER_URL!;
const superuserName = () => decodeURIComponent(new URL(superuserUrl()).username);

let superuser: pg.Client;
// Cluster-wide roles made for one test, named uniquely and dropped at the end.
const scratchRoles: string[] = [];

beforeAll(async () => {
  superuser = await superuserClient();
});

afterAll(async () => {
  for (const role of scratchRoles) {
    await superuser.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await superuser.query(`DROP ROLE IF EXISTS ${role}`);
  }
  await superuser.end();
  await closeDatabase();
});

/** A login role for one test: `grants` run as the superuser after it exists. */
async function scratchLogin(grants: (role: string) => string[]): Promise<string> {
  const role = `gatehouse_test_${randomBytes(4).toString('hex')}`;
  scratchRoles.push(role);
  // A password too: the embedded cluster (npm test without DATABASE_URL) checks passwords.
  const password = randomBytes(12).toString('hex');
  await superuser.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  for (const sql of grants(role)) await superuser.query(sql);
  const url = new URL(superuserUrl());
  url.username = role;
  url.password = password;
  return url.toString();
}

describe('the application database role', () => {
  it('cannot escape its role: SET ROLE to the superuser or the owner, replica mode and trigger changes are refused', async () => {
    const client = await pool().connect();
    try {
      const { rows } = await client.query<{ session_user: string; current_user: string }>('SELECT session_user, current_user');
      expect(rows[0]).toEqual({ session_user: 'gatehouse_app', current_user: 'gatehouse_app' });
      const owner = (await client.query<{ owner: string }>("SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'audit_events'")).rows[0]!.owner;
      for (const role of new Set([superuserName(), owner])) {
        await expect(client.query(`SET ROLE ${role}`)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied to set role/) });
      }
      // RESET ROLE returns to the login role, which is the unprivileged one itself.
      await client.query('RESET ROLE');
      expect((await client.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user).toBe('gatehouse_app');
      await expect(client.query('SET session_replication_role = replica')).rejects.toMatchObject({ code: '42501' });
      await expect(client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/must be owner/) });
    } finally {
      client.release(true);
    }
  });

  it('holds no privilege that could rewrite the audit trail', async () => {
    expect(await appRolePrivileges(appUrl())).toEqual([]);
    expect(await checkAppRole(appUrl(), {})).toEqual({ ok: true });
  });

  it('refuses a superuser login with a one-line reason and the fix', async () => {
    const verdict = await checkAppRole(superuserUrl(), {});
    expect(verdict.ok).toBe(false);
    const reason = (verdict as { reason: string }).reason;
    expect(reason).toBe(describePrivilege({ loginRole: superuserName(), role: superuserName(), what: 'a superuser' }));
    expect(reason).toMatch(/^database role: the app logs in as "[^"]+", a superuser, so it could rewrite the audit trail; give DATABASE_URL a least-privileged login role \(README.*\) or set GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE=1 to run anyway$/);
    expect(reason).not.toContain('\n');
  });

  it('only warns about a privileged login when GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE=1', async () => {
    const verdict = await checkAppRole(superuserUrl(), { GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE: '1' });
    expect(verdict).toEqual({ ok: true, warning: expect.stringMatching(/a superuser, so it could rewrite the audit trail \(allowed by GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE\)$/) });
  });

  it('refuses a login role that can SET ROLE to a superuser, or that owns a table', async () => {
    const member = await scratchLogin((role) => [`GRANT ${superuser.escapeIdentifier(superuserName())} TO ${role}`]);
    expect(await checkAppRole(member, {})).toEqual({
      ok: false,
      reason: expect.stringMatching(new RegExp(`^database role: the app's login role "gatehouse_test_[0-9a-f]+" can SET ROLE to "${superuserName()}", a superuser, so it could`)),
    });

    const table = `scratch_${randomBytes(4).toString('hex')}`;
    const owner = await scratchLogin((role) => [`CREATE TABLE ${table} (id int)`, `ALTER TABLE ${table} OWNER TO ${role}`]);
    const [found] = await appRolePrivileges(owner);
    expect(found).toMatchObject({ what: `the owner of table public.${table}` });
  });

  it('refuses a login role that may create objects where the owner looks names up', async () => {
    // PUBLIC has CREATE on public before PostgreSQL 15: a planted public.convert_to(text, text)
    // wins over pg_catalog's in the owner's next migration that calls convert_to, and runs as the owner.
    const creator = await scratchLogin((role) => [`GRANT CREATE ON SCHEMA public TO ${role}`]);
    expect(await checkAppRole(creator, {})).toEqual({
      ok: false,
      reason: expect.stringMatching(/^database role: the app logs in as "gatehouse_test_[0-9a-f]+", allowed to create objects in schema public, where the owner's migrations look names up, so it could rewrite the audit trail; /),
    });
  });

  it('migrates with GATEHOUSE_MIGRATION_DATABASE_URL, or with DATABASE_URL only when a privileged role is allowed', () => {
    expect(migrationDatabaseUrl({ DATABASE_URL: 'postgres://app@db/g', GATEHOUSE_MIGRATION_DATABASE_URL: 'postgres://owner@db/g' })).toBe('postgres://owner@db/g');
    expect(migrationDatabaseUrl({ DATABASE_URL: 'postgres://app@db/g' })).toBeUndefined();
    expect(migrationDatabaseUrl({ DATABASE_URL: 'postgres://app@db/g', GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE: '1' })).toBe('postgres://app@db/g');
    expect(appLoginUrl('postgres://postgres:secret@127.0.0.1:5432/gatehouse', 'p@ss')).toBe('postgres://gatehouse_app:p%40ss@127.0.0.1:5432/gatehouse');
  });
});
