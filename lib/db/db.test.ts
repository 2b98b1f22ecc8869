import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, db, pool } from './client';
import { pendingMigrations } from './migrations';

afterAll(closeDatabase);

describe('database', () => {
  it('runs as the application role and has every migration applied', async () => {
    const { rows } = await pool().query<{ current_user: string }>('SELECT current_user');
    expect(rows[0]?.current_user).toBe('gatehouse_app');
    expect(await pendingMigrations(process.env.DATABASE_URL!)).toEqual([]);
  });

  it('reads and writes ordinary tables through Prisma', async () => {
    const tenant = await db().tenant.create({ data: { slug: `t-${Date.now()}`, name: 'Test' } });
    expect(await db().tenant.findUnique({ where: { id: tenant.id } })).toMatchObject({ name: 'Test' });
  });
});
