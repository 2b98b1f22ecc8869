import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, db } from '@/lib/db/client';
import { ensureBuiltInRoles } from '@/lib/users/tenant';
import { authorize, ForbiddenError, invalidatePermissionCache, permissionScope, requirePermission, setPermissionCacheTtl } from './index';

let tenantId: string;
let research: { id: string; slug: string };
let finance: { id: string; slug: string };

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  tenantId = (await db().tenant.create({ data: { slug: `rbac-${suffix}`, name: 'RBAC tests' } })).id;
  await ensureBuiltInRoles(tenantId);
  research = await db().department.create({ data: { tenantId, slug: 'research', name: 'Research' } });
  finance = await db().department.create({ data: { tenantId, slug: 'finance', name: 'Finance' } });
});

beforeEach(() => {
  setPermissionCacheTtl(0);
  invalidatePermissionCache();
});

afterAll(closeDatabase);

async function userWith(bindings: { role: string; departmentId?: string }[], status: 'active' | 'disabled' = 'active') {
  const user = await db().user.create({ data: { tenantId, email: `rbac-${randomUUID()}@example.test`, name: 'RBAC user', status } });
  for (const binding of bindings) {
    const role = await db().role.findUniqueOrThrow({ where: { tenantId_name: { tenantId, name: binding.role } } });
    await db().roleBinding.create({ data: { userId: user.id, roleId: role.id, departmentId: binding.departmentId ?? null } });
  }
  return { userId: user.id, tenantId };
}

describe('authorize', () => {
  it('grants what a tenant-wide built-in role carries, everywhere, and nothing else', async () => {
    const member = await userWith([{ role: 'member' }]);
    expect(await authorize(member, 'inference.invoke')).toBe(true);
    expect(await authorize(member, 'inference.invoke', { departmentId: research.id })).toBe(true);
    expect(await authorize(member, 'audit.read')).toBe(false);
    expect(await authorize(member, 'users.admin', { departmentId: research.id })).toBe(false);
  });

  it('lets a department-scoped binding grant only inside its department', async () => {
    const scopedAdmin = await userWith([{ role: 'member' }, { role: 'admin', departmentId: research.id }]);
    expect(await authorize(scopedAdmin, 'users.admin', { departmentId: research.id })).toBe(true);
    expect(await authorize(scopedAdmin, 'users.admin', { departmentSlug: 'research' })).toBe(true);
    expect(await authorize(scopedAdmin, 'users.admin', { departmentId: finance.id })).toBe(false);
    expect(await authorize(scopedAdmin, 'users.admin', { departmentId: null })).toBe(false);
    expect(await authorize(scopedAdmin, 'users.admin')).toBe(false);
    // The tenant-wide member binding still applies inside the department.
    expect(await authorize(scopedAdmin, 'mcp.use', { departmentId: finance.id })).toBe(true);

    const scope = await permissionScope(scopedAdmin, 'users.admin');
    expect(scope.tenantWide).toBe(false);
    expect([...scope.departmentIds]).toEqual([research.id]);
    expect((await permissionScope(scopedAdmin, 'mcp.use')).tenantWide).toBe(true);
  });

  it('reads custom roles from the database and ignores permissions outside the catalogue', async () => {
    const name = `reviewer-${randomUUID().slice(0, 6)}`;
    await db().role.create({ data: { tenantId, name, permissions: ['plugins.review', 'everything.forever'] } });
    const reviewer = await userWith([{ role: name }]);
    expect(await authorize(reviewer, 'plugins.review')).toBe(true);
    expect(await authorize(reviewer, 'inference.invoke')).toBe(false);
  });

  it('refuses disabled users, other tenants and roles a token was not issued with', async () => {
    const disabled = await userWith([{ role: 'admin' }], 'disabled');
    expect(await authorize(disabled, 'inference.invoke')).toBe(false);

    const admin = await userWith([{ role: 'admin' }]);
    expect(await authorize({ ...admin, tenantId: randomUUID() }, 'inference.invoke')).toBe(false);
    expect(await authorize({ userId: randomUUID(), tenantId }, 'inference.invoke')).toBe(false);

    const both = await userWith([{ role: 'member' }, { role: 'author', departmentId: research.id }]);
    expect(await authorize({ ...both, roles: ['member'] }, 'plugins.publish', { departmentId: research.id })).toBe(false);
    expect(await authorize({ ...both, roles: ['member', 'author@research'] }, 'plugins.publish', { departmentSlug: 'research' })).toBe(true);
  });

  it('throws a typed ForbiddenError from requirePermission', async () => {
    const member = await userWith([{ role: 'member' }]);
    await expect(requirePermission(member, 'inference.invoke')).resolves.toBeUndefined();
    const refusal = await requirePermission(member, 'users.admin', { departmentId: research.id }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ForbiddenError);
    expect(refusal).toMatchObject({ permission: 'users.admin', departmentId: research.id });
  });

  it('caches effective permissions until invalidated', async () => {
    setPermissionCacheTtl(60_000);
    const user = await userWith([{ role: 'security' }]);
    expect(await authorize(user, 'audit.read')).toBe(true);
    await db().roleBinding.deleteMany({ where: { userId: user.userId } });
    // Still the cached answer: nothing told this process about the change.
    expect(await authorize(user, 'audit.read')).toBe(true);
    invalidatePermissionCache(user.userId);
    expect(await authorize(user, 'audit.read')).toBe(false);

    const other = await userWith([{ role: 'finance' }]);
    expect(await authorize(other, 'costs.read')).toBe(true);
    await db().user.update({ where: { id: other.userId }, data: { status: 'disabled' } });
    invalidatePermissionCache();
    expect(await authorize(other, 'costs.read')).toBe(false);
  });
});
