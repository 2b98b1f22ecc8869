import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, ensureDatabase } from '@/lib/db/admin';
import { closeDatabase, pool } from '@/lib/db/client';
import { poolConfigFromUrl, withDatabase } from '@/lib/db/connection';
import { unappliedMigrations } from './migration-status';

const scratchDirs: string[] = [];

afterAll(async () => {
  await closeDatabase();
  for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
});

/** A project root whose prisma/migrations holds the real migrations plus `extra`. */
async function projectWith(extra: string[]): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-migrations-'));
  scratchDirs.push(root);
  const real = (await readdir('prisma/migrations', { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  for (const name of [...real, ...extra]) await mkdir(path.join(root, 'prisma', 'migrations', name), { recursive: true });
  return root;
}

describe('unappliedMigrations', () => {
  it('is empty for the migrated test database', async () => {
    expect(await unappliedMigrations(pool())).toEqual([]);
  });

  it('names migrations on disk that the database has not applied', async () => {
    const root = await projectWith(['29991231000000_future_change', '29991231000001_another']);
    expect(await unappliedMigrations(pool(), root)).toEqual(['29991231000000_future_change', '29991231000001_another']);
  });

  it('treats a database without migration history as entirely pending', async () => {
    const serverUrl = process.env.GATEHOUSE_TEST_SUPERUSER_URL!;
    const name = `gatehouse_empty_${randomBytes(4).toString('hex')}`;
    await ensureDatabase(serverUrl, name);
    const emptyPool = new pg.Pool(poolConfigFromUrl(withDatabase(serverUrl, name)));
    try {
      const onDisk = (await readdir('prisma/migrations', { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      expect(await unappliedMigrations(emptyPool)).toEqual(onDisk);
    } finally {
      await emptyPool.end();
      await dropDatabase(serverUrl, name);
    }
  });
});
