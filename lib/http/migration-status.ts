import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';

const UNDEFINED_TABLE = '42P01';

/**
 * Migrations on disk that the database has not finished applying, read from Prisma's own
 * `_prisma_migrations` table. The readiness probe uses this rather than lib/db/migrations'
 * pendingMigrations(): that one drives the WASM schema engine, which cannot run inside Next's
 * server bundle (the App Router /readyz route) and costs far more than one SELECT per probe.
 */
export async function unappliedMigrations(db: pg.Pool, root: string = process.cwd()): Promise<string[]> {
  // Same directory as lib/db/migrations.ts MIGRATIONS_DIR, spelled out so bundlers can see it.
  const entries = await readdir(path.join(root, 'prisma', 'migrations'), { withFileTypes: true });
  const onDisk = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  let applied: Set<string>;
  try {
    const result = await db.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    applied = new Set(result.rows.map((row) => row.migration_name));
  } catch (error) {
    // A database never migrated has no history table yet: everything is pending.
    if ((error as { code?: string }).code === UNDEFINED_TABLE) return onDisk;
    throw error;
  }
  return onDisk.filter((name) => !applied.has(name));
}
