import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { authorize, ForbiddenError, setPermissionCacheTtl } from '@/lib/rbac';
import { ensureBuiltInRoles, UserInputError } from '@/lib/users/tenant';
import { principalOf, type AdminActor } from './actor';
import { addRoleBinding, removeRoleBinding } from './bindings';
import { listManagedClients, setManagedClientDisabled } from './clients';
import { createDepartment, renameDepartment } from './departments';
import { createRole, deleteRole, listRoles, updateRole } from './roles';
import { listManagedSessions, revokeAllManagedSessions, revokeManagedSession } from './sessions';
import { createManagedUser, getManagedUser, listManagedUsers, setManagedUserStatus, updateManagedUser } from './users';

let tenantId: string;
let admin: AdminActor;
let researchAdmin: AdminActor;
let research: { id: string };
let finance: { id: string };
const roleIds: Record<string, string> = {};

async function actorWith(bindings: { role: string; departmentId?: string }[], departmentId: string | null = null): Promise<AdminActor> {
  const email = `admin-test-${randomUUID().slice(0, 8)}@example.test`;
  const user = await db().user.create({
    data: { tenantId, email, name: email, departmentId, roleBindings: { create: bindings.map((b) => ({ roleId: roleIds[b.role]!, departmentId: b.departmentId ?? null })) } },
  });
  return { userId: user.id, tenantId, email, roles: bindings.map((b) => b.role) };
}

async function adminEvents(targetId: string) {
  const result = await pool().query<{ action: string; outcome: string }>(
    `SELECT action, outcome FROM audit_events WHERE tenant_id = $1 AND event_type = 'admin.change' AND event->'target'->>'id' = $2 ORDER BY seq`,
    [tenantId, targetId],
  );
  return result.rows.map((row) => `${row.action} ${row.outcome}`);
}

function openSession(userId: string) {
  return db().oAuthSession.create({
    data: { tenantId, userId, grantType: 'urn:ietf:params:oauth:grant-type:device_code', scope: 'openid', audience: 'http://gatehouse.test/v1', authTime: new Date(), expiresAt: new Date(Date.now() + 3600_000) },
  });
}

beforeAll(async () => {
  // Long enough that every assertion below relies on the services invalidating what they change.
  setPermissionCacheTtl(60_000);
  tenantId = (await db().tenant.create({ data: { slug: `admin-${randomUUID().slice(0, 8)}`, name: 'Admin tests' } })).id;
  await ensureBuiltInRoles(tenantId);
  for (const role of await db().role.findMany({ where: { tenantId } })) roleIds[role.name] = role.id;
  research = await db().department.create({ data: { tenantId, slug: 'research', name: 'Research' } });
  finance = await db().department.create({ data: { tenantId, slug: 'finance', name: 'Finance' } });
  admin = await actorWith([{ role: 'admin' }]);
  researchAdmin = await actorWith([{ role: 'member' }, { role: 'admin', departmentId: research.id }], research.id);
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('users', () => {
  it('creates a user with a generated password and a department-scoped role, audited', async () => {
    const created = await createManagedUser(admin, { email: `  Ada-${randomUUID().slice(0, 6)}@Example.test `, name: 'Ada', departmentId: research.id, roleId: roleIds.author!, scopeRoleToDepartment: true });
    expect(created.password.length).toBeGreaterThanOrEqual(20);
    expect(created.email).toBe(created.email.trim().toLowerCase());
    const detail = await getManagedUser(admin, created.id);
    expect(detail).toMatchObject({ department: 'Research', roles: ['author@research'], status: 'active', hasPassword: true, canManage: true, canManageBindings: true });
    expect(await authorize({ userId: created.id, tenantId }, 'plugins.publish', { departmentId: research.id })).toBe(true);
    expect(await authorize({ userId: created.id, tenantId }, 'plugins.publish', { departmentId: finance.id })).toBe(false);
    expect(await adminEvents(created.id)).toEqual(['user.create success']);

    await expect(createManagedUser(admin, { email: created.email, name: 'Twice', departmentId: null, roleId: roleIds.member!, scopeRoleToDepartment: false })).rejects.toThrow(/already exists/);
    await expect(createManagedUser(admin, { email: `x-${randomUUID()}@example.test`, name: 'X', departmentId: null, roleId: roleIds.member!, scopeRoleToDepartment: true })).rejects.toThrow(UserInputError);
  });

  it('lets a department administrator see and manage only their department, and records refusals', async () => {
    const inResearch = await actorWith([{ role: 'member' }], research.id);
    const inFinance = await actorWith([{ role: 'member' }], finance.id);
    const visible = (await listManagedUsers(researchAdmin)).map((user) => user.id);
    expect(visible).toContain(inResearch.userId);
    expect(visible).not.toContain(inFinance.userId);

    await updateManagedUser(researchAdmin, inResearch.userId, { name: 'Renamed', departmentId: research.id });
    expect((await getManagedUser(admin, inResearch.userId)).name).toBe('Renamed');
    // Moving someone out takes users.admin in the destination too.
    await expect(updateManagedUser(researchAdmin, inResearch.userId, { name: 'Renamed', departmentId: finance.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(setManagedUserStatus(researchAdmin, inFinance.userId, 'disabled')).rejects.toBeInstanceOf(ForbiddenError);
    // Bindings and new accounts need a tenant-wide administrator.
    await expect(addRoleBinding(researchAdmin, inResearch.userId, { roleId: roleIds.admin!, departmentId: research.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(createManagedUser(researchAdmin, { email: `y-${randomUUID()}@example.test`, name: 'Y', departmentId: research.id, roleId: roleIds.member!, scopeRoleToDepartment: false })).rejects.toBeInstanceOf(ForbiddenError);
    expect(await adminEvents(inFinance.userId)).toEqual(['user.disable denied']);

    // A tenant-wide administrator who sits in Research is still out of the department admin's reach.
    const seniorInResearch = await actorWith([{ role: 'admin' }], research.id);
    await expect(setManagedUserStatus(researchAdmin, seniorInResearch.userId, 'disabled')).rejects.toBeInstanceOf(ForbiddenError);
    expect((await getManagedUser(researchAdmin, seniorInResearch.userId)).canManage).toBe(false);
  });

  it('disables a user (ending their sessions) and enables them again, but never the actor or the last administrator', async () => {
    const target = await actorWith([{ role: 'member' }], research.id);
    const session = await openSession(target.userId);
    await setManagedUserStatus(admin, target.userId, 'disabled');
    expect((await db().user.findUniqueOrThrow({ where: { id: target.userId } })).status).toBe('disabled');
    expect((await db().oAuthSession.findUniqueOrThrow({ where: { id: session.id } })).revokedReason).toBe('user_revoked');
    expect(await authorize(principalOf(target), 'inference.invoke')).toBe(false);

    await setManagedUserStatus(researchAdmin, target.userId, 'active');
    expect(await authorize(principalOf(target), 'inference.invoke')).toBe(true);
    expect(await adminEvents(target.userId)).toEqual(['user.revoke success', 'user.enable success']);

    await expect(setManagedUserStatus(admin, admin.userId, 'disabled')).rejects.toThrow('you cannot disable your own account');
    const onlyAdminBinding = await db().roleBinding.findFirstOrThrow({ where: { userId: admin.userId } });
    // Other tests' tenant-wide admins exist in this tenant: take theirs away first.
    await db().roleBinding.deleteMany({ where: { roleId: roleIds.admin!, departmentId: null, userId: { not: admin.userId } } });
    await expect(removeRoleBinding(admin, admin.userId, onlyAdminBinding.id)).rejects.toThrow(/keep at least one active administrator/);
  });

  it('adds and removes role bindings', async () => {
    const target = await actorWith([{ role: 'member' }]);
    await addRoleBinding(admin, target.userId, { roleId: roleIds.finance!, departmentId: finance.id });
    expect(await authorize(principalOf(target), 'costs.read', { departmentId: finance.id })).toBe(true);
    await expect(addRoleBinding(admin, target.userId, { roleId: roleIds.finance!, departmentId: finance.id })).rejects.toThrow(/already has finance@finance/);
    const binding = (await getManagedUser(admin, target.userId)).bindings.find((b) => b.label === 'finance@finance')!;
    await removeRoleBinding(admin, target.userId, binding.id);
    expect(await authorize(principalOf(target), 'costs.read', { departmentId: finance.id })).toBe(false);
    expect(await adminEvents(target.userId)).toEqual(['role_binding.create success', 'role_binding.delete success']);
  });
});

describe('roles and departments', () => {
  it('manages custom roles; built-in ones are read-only', async () => {
    const member = await actorWith([]);
    const role = await createRole(admin, { name: 'Reviewer', description: 'Reviews plugins', permissions: ['plugins.review', 'audit.read'] });
    expect(role).toMatchObject({ name: 'reviewer', permissions: ['plugins.review', 'audit.read'], builtIn: false });
    await addRoleBinding(admin, member.userId, { roleId: role.id, departmentId: null });
    expect(await authorize(principalOf(member), 'costs.read')).toBe(false);
    await updateRole(admin, role.id, { description: 'Reviews and counts', permissions: ['plugins.review', 'costs.read'] });
    expect(await authorize(principalOf(member), 'costs.read')).toBe(true);
    expect(await authorize(principalOf(member), 'audit.read')).toBe(false);

    await expect(createRole(admin, { name: 'reviewer', description: '', permissions: ['audit.read'] })).rejects.toThrow(/already exists/);
    await expect(createRole(admin, { name: 'member', description: '', permissions: ['audit.read'] })).rejects.toThrow(/built-in/);
    await expect(createRole(admin, { name: 'nothing', description: '', permissions: ['root.everything'] })).rejects.toThrow(/unknown permission/);
    await expect(updateRole(admin, roleIds.admin!, { description: '', permissions: ['audit.read'] })).rejects.toThrow(/read-only/);

    const listed = await listRoles(admin);
    expect(listed.find((row) => row.name === 'reviewer')).toMatchObject({ bindings: 1 });
    expect(listed.find((row) => row.name === 'admin')).toMatchObject({ builtIn: true });
    expect(await deleteRole(admin, role.id)).toEqual({ bindingsRemoved: 1 });
    expect(await authorize(principalOf(member), 'plugins.review')).toBe(false);
    expect(await adminEvents(role.id)).toEqual(['role.create success', 'role.update success', 'role.delete success']);
  });

  it('creates and renames departments, keeping the slug', async () => {
    const name = `Legal ${randomUUID().slice(0, 4)}`;
    const department = await createDepartment(admin, { name });
    expect(department.slug).toMatch(/^legal-[0-9a-f]{4}$/);
    await expect(createDepartment(admin, { name })).rejects.toThrow(/already exists/);
    await renameDepartment(admin, department.id, 'Legal and Compliance');
    expect(await db().department.findUniqueOrThrow({ where: { id: department.id } })).toMatchObject({ name: 'Legal and Compliance', slug: department.slug });
    await expect(createDepartment(researchAdmin, { name: 'Shadow IT' })).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('sessions and clients', () => {
  it('lists and revokes a user’s sessions', async () => {
    const target = await actorWith([{ role: 'member' }], research.id);
    const [first, second, third] = [await openSession(target.userId), await openSession(target.userId), await openSession(target.userId)];
    expect((await listManagedSessions(researchAdmin, target.userId)).map((s) => s.status)).toEqual(['active', 'active', 'active']);
    await revokeManagedSession(researchAdmin, target.userId, first.id);
    await expect(revokeManagedSession(researchAdmin, target.userId, first.id)).rejects.toThrow(/already ended/);
    expect(await revokeAllManagedSessions(admin, target.userId)).toBe(2);
    const sessions = await listManagedSessions(admin, target.userId);
    expect(sessions.every((s) => s.status === 'revoked' && s.revokedReason === 'admin_revoked')).toBe(true);
    expect([second.id, third.id].every((id) => sessions.some((s) => s.id === id))).toBe(true);
    expect(await adminEvents(target.userId)).toEqual(['session.revoke success', 'session.revoke_all success']);
  });

  it('lists and disables OAuth clients for policy administrators only', async () => {
    const clientId = `app_${randomUUID().slice(0, 8)}`;
    await db().oAuthClient.create({ data: { tenantId, clientId, name: 'Test app', redirectUris: ['https://app.example/cb'], grantTypes: ['authorization_code'], origin: 'dynamic' } });
    const rows = await listManagedClients(admin);
    expect(rows).toEqual([expect.objectContaining({ clientId, type: 'public', registeredVia: 'dynamic', disabledAt: null })]);
    await setManagedClientDisabled(admin, clientId, true);
    expect((await listManagedClients(admin))[0]!.disabledAt).not.toBeNull();
    const member = await actorWith([{ role: 'member' }]);
    await expect(listManagedClients(member)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(setManagedClientDisabled(member, clientId, false)).rejects.toBeInstanceOf(ForbiddenError);
  });
});
