// Migration 20261203140000 on a database whose key chain forked before it (two rotations at once
// both endorsed one key, as rotateOrgKey could before it took its lock first): the unique index
// on previous_kid must not abort the deploy, and one chain must be left. Applied to a database of
// its own, migrated up to the migration before, seeded with the fork, then migrated on.
import { generateKeyPairSync } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, ensureDatabase } from '@/lib/db/admin';
import { poolConfigFromUrl, withDatabase } from '@/lib/db/connection';
import { applyMigrations, MIGRATIONS_DIR } from '@/lib/db/migrations';
import { SCHEMA_PATH } from '@/lib/db/schema-engine';
import { JWS_TYPES, publicJwkOf, signCompact, type KeyRollover } from './jws';

const MIGRATION = '20261203140000_org_key_rollover_previous';
const scratch: string[] = [];

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** A project root holding the real schema and the migrations up to `last` (inclusive). */
async function projectUpTo(last: string, inclusive: boolean): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-rollover-migration-'));
  scratch.push(root);
  await mkdir(path.join(root, path.dirname(SCHEMA_PATH)), { recursive: true });
  await copyFile(SCHEMA_PATH, path.join(root, SCHEMA_PATH));
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  for (const name of names.filter((name) => (inclusive ? name <= last : name < last))) {
    await mkdir(path.join(root, MIGRATIONS_DIR, name), { recursive: true });
    await copyFile(path.join(MIGRATIONS_DIR, name, 'migration.sql'), path.join(root, MIGRATIONS_DIR, name, 'migration.sql'));
  }
  await copyFile(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(root, MIGRATIONS_DIR, 'migration_lock.toml'));
  return root;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicJwkOf(publicKey);
  return { privateKey, jwk, kid: jwk.kid! };
}

describe('migration 20261203140000 (previous_kid)', () => {
  it('keeps the newest successor of a key two rotations endorsed, retires the other, and creates the unique index', async () => {
    const serverUrl = process.env.GATEHOUSE_TEST_SUPERUSER_URL!;
    const name = `gatehouse_rollover_${randomBytes(4).toString('hex')}`;
    await ensureDatabase(serverUrl, name);
    const url = withDatabase(serverUrl, name);
    const client = new pg.Client(poolConfigFromUrl(url));
    try {
      await applyMigrations(url, await projectUpTo(MIGRATION, false));
      const [first, second, older, newer] = [keyPair(), keyPair(), keyPair(), keyPair()];
      const endorse = (by: ReturnType<typeof keyPair>, next: ReturnType<typeof keyPair>) =>
        signCompact({ previous: by.kid, next: next.jwk, iat: 1 } satisfies KeyRollover, { kid: by.kid, typ: JWS_TYPES.keyRollover }, by.privateKey);
      await client.connect();
      const insert = (key: ReturnType<typeof keyPair>, status: string, endorsement: string | null, createdAt: string) =>
        client.query(`INSERT INTO org_signing_keys (kid, public_jwk, encrypted_private_key, status, endorsement, created_at, retired_at) VALUES ($1, $2, 'sealed', $3::"OrgKeyStatus", $4, $5, $6)`, [
          key.kid,
          key.jwk,
          status,
          endorsement,
          createdAt,
          status === 'retired' ? createdAt : null,
        ]);
      await insert(first, 'retired', null, '2026-11-01T00:00:00Z');
      await insert(second, 'retired', endorse(first, second), '2026-11-02T00:00:00Z');
      // Both rotations read `second` as active and each made its key active.
      await insert(older, 'active', endorse(second, older), '2026-11-03T00:00:00Z');
      await insert(newer, 'active', endorse(second, newer), '2026-11-03T00:00:01Z');

      expect(await applyMigrations(url, await projectUpTo(MIGRATION, true))).toEqual([MIGRATION]);

      const rows = new Map(
        (await client.query<{ kid: string; previous_kid: string | null; status: string; endorsement: string | null }>('SELECT kid, previous_kid, status, endorsement FROM org_signing_keys')).rows.map((row) => [row.kid, row]),
      );
      expect(rows.get(second.kid)).toMatchObject({ previous_kid: first.kid, status: 'retired' });
      expect(rows.get(newer.kid)).toMatchObject({ previous_kid: second.kid, status: 'active' });
      // The other successor leaves the chain: no link, no published statement, no longer active.
      expect(rows.get(older.kid)).toMatchObject({ previous_kid: null, status: 'retired', endorsement: null });
      const index = await client.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'org_signing_keys_previous_kid_key'`);
      expect(index.rows[0]?.indexdef).toMatch(/UNIQUE/);
    } finally {
      await client.end().catch(() => undefined);
      await dropDatabase(serverUrl, name);
    }
  }, 120_000);
});
