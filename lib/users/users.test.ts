import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '@/lib/auth/password';
import { closeDatabase, db } from '@/lib/db/client';
import { seedFirstAdmin } from './seed';
import { createUser, listUsers } from './users';

afterAll(closeDatabase);

describe('users', () => {
  it('seeds one admin with a generated password kept in a 0600 file, once', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-seed-'));
    const first = await seedFirstAdmin({ dataDir });
    // Another test file may have seeded first; either way exactly one admin exists afterwards.
    if (first.created) {
      expect(first.generatedPassword).toBeDefined();
      const file = await readFile(first.credentialsFile!, 'utf8');
      expect(file).toContain(`password=${first.generatedPassword}`);
      expect((await stat(first.credentialsFile!)).mode & 0o777).toBe(0o600);
      const admin = await db().user.findUniqueOrThrow({ where: { email: first.email! } });
      expect(await verifyPassword(first.generatedPassword!, admin.passwordHash!)).toBe(true);
    }
    // Seeding again (every `npm start`) changes nothing once an admin exists.
    const usersBefore = await db().user.count();
    const second = await seedFirstAdmin({ dataDir });
    expect(second.created).toBe(false);
    expect(second.generatedPassword).toBeUndefined();
    const admin = await db().user.findUniqueOrThrow({ where: { email: second.email! }, include: { roleBindings: { include: { role: true } } } });
    expect(admin.roleBindings.map((binding) => binding.role.name)).toContain('admin');
    expect(await db().user.count()).toBeGreaterThanOrEqual(usersBefore);
  });

  it('creates a user with department and roles and writes an admin.change audit event', async () => {
    await seedFirstAdmin({ dataDir: await mkdtemp(path.join(tmpdir(), 'gatehouse-seed-')) });
    const created = await createUser({ email: `Ada-${Date.now()}@Example.com`, name: 'Ada', department: 'Research', roles: ['author'], password: 'correct horse battery' }, { call_source: 'cli' });
    expect(created.email).toBe(created.email.toLowerCase());
    const summary = (await listUsers()).find((u) => u.id === created.id);
    expect(summary).toMatchObject({ department: 'research', roles: ['author'], status: 'active' });
    const { pool } = await import('@/lib/db/client');
    const events = await pool().query(`SELECT action, event FROM audit_events WHERE event_type = 'admin.change' AND event->'attributes'->>'target_user_id' = $1`, [created.id]);
    expect(events.rows).toHaveLength(1);
    expect(events.rows[0].action).toBe('user.create');
  });
});
