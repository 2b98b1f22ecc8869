// The audience sequence the database moves (migration 20261203150000): once per statement and
// tenant, whatever the number of rows, on every change that can alter someone's audience, and not
// on others. A tenant of its own: other test files change people in the shared one in parallel.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { configureTestEnvironment, createTestUser } from '@/lib/oauth/test-harness';
import { accessSequences } from './index';

configureTestEnvironment();

let tenantId: string;
let people: UserIdentity[];

beforeAll(async () => {
  tenantId = (await db().tenant.create({ data: { slug: `audience-${randomUUID().slice(0, 8)}`, name: 'Audience sequence tests' } })).id;
  people = [];
  // One by one: the first creates the department.
  for (let count = 0; count < 3; count += 1) people.push(await createTestUser(['member'], 'Research', tenantId));
});

async function audience(): Promise<bigint> {
  return (await accessSequences(tenantId)).audience;
}

describe('the audience sequence', () => {
  it('moves once for a statement binding a role to several people, and on unbinding', async () => {
    const role = await db().role.create({ data: { tenantId, name: `auditor-${randomUUID().slice(0, 6)}` } });
    const before = await audience();
    await db().roleBinding.createMany({ data: people.map((person) => ({ userId: person.userId, roleId: role.id })) });
    expect(await audience()).toBe(before + 1n);
    await db().roleBinding.deleteMany({ where: { roleId: role.id } });
    expect(await audience()).toBe(before + 2n);
  });

  it('moves when a role is renamed, not when only its description changes', async () => {
    const role = await db().role.create({ data: { tenantId, name: `reviewer-${randomUUID().slice(0, 6)}` } });
    const before = await audience();
    await db().role.update({ where: { id: role.id }, data: { description: 'reads things' } });
    expect(await audience()).toBe(before);
    await db().role.update({ where: { id: role.id }, data: { name: `${role.name}-renamed` } });
    expect(await audience()).toBe(before + 1n);
  });

  it('moves when people change department (once for all of them), not when only their name changes', async () => {
    const department = await db().department.create({ data: { tenantId, slug: `legal-${randomUUID().slice(0, 6)}`, name: 'Legal' } });
    const before = await audience();
    await db().user.updateMany({ where: { tenantId }, data: { name: 'Renamed' } });
    expect(await audience()).toBe(before);
    await db().user.updateMany({ where: { tenantId }, data: { departmentId: department.id } });
    expect(await audience()).toBe(before + 1n);
  });

  it('moves when a person is deleted', async () => {
    const leaving = await createTestUser(['member'], 'Research', tenantId);
    const before = await audience();
    await db().user.delete({ where: { id: leaving.userId } });
    expect(await audience()).toBeGreaterThan(before);
  });
});
