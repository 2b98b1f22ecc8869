import { db } from '@/lib/db/client';
import { invalidatePermissionCache } from '@/lib/rbac/cache';
import { UserInputError } from '@/lib/users/tenant';
import type { AdminActor } from './actor';
import { recordAdminChange } from './audit';
import { requireAdmin } from './guard';
import { assertAdministratorRemains } from './last-admin';
import { bindingLabel } from '@/lib/rbac/labels';

async function tenantUser(actor: AdminActor, userId: string) {
  const user = await db().user.findFirst({ where: { id: userId, tenantId: actor.tenantId } });
  if (!user) throw new UserInputError('that user does not exist (any more)');
  return user;
}

export interface NewBinding {
  roleId: string;
  /** Null binds tenant-wide; a department limits the role to resources in it. */
  departmentId: string | null;
}

/**
 * Grants a role. Bindings change what people may do anywhere, so they take tenant-wide
 * users.admin even when the binding itself is limited to one department.
 */
export async function addRoleBinding(actor: AdminActor, userId: string, input: NewBinding): Promise<void> {
  const user = await tenantUser(actor, userId);
  const target = { type: 'user' as const, id: user.id, name: user.email };
  await requireAdmin(actor, 'users.admin', undefined, 'role_binding.create', target);
  const role = await db().role.findFirst({ where: { id: input.roleId, tenantId: actor.tenantId } });
  if (!role) throw new UserInputError('that role does not exist (any more)');
  const department = input.departmentId ? await db().department.findFirst({ where: { id: input.departmentId, tenantId: actor.tenantId } }) : null;
  if (input.departmentId && !department) throw new UserInputError('that department does not exist (any more)');
  const label = department ? `${role.name}@${department.slug}` : role.name;
  const existing = await db().roleBinding.findFirst({ where: { userId: user.id, roleId: role.id, departmentId: department?.id ?? null } });
  if (existing) throw new UserInputError(`${user.email} already has ${label}`);
  await db().roleBinding.create({ data: { userId: user.id, roleId: role.id, departmentId: department?.id ?? null } });
  invalidatePermissionCache(user.id);
  await recordAdminChange(actor, 'role_binding.create', target, { role: role.name, department: department?.slug ?? '', binding: label });
}

/** Takes a role away again; refused when it would leave no administrator. */
export async function removeRoleBinding(actor: AdminActor, userId: string, bindingId: string): Promise<void> {
  const user = await tenantUser(actor, userId);
  const target = { type: 'user' as const, id: user.id, name: user.email };
  await requireAdmin(actor, 'users.admin', undefined, 'role_binding.delete', target);
  const binding = await db().roleBinding.findFirst({ where: { id: bindingId, userId: user.id }, include: { role: true, department: true } });
  if (!binding) throw new UserInputError('that role binding does not exist (any more)');
  await db().$transaction(async (tx) => {
    await tx.roleBinding.delete({ where: { id: binding.id } });
    await assertAdministratorRemains(tx, actor.tenantId);
  });
  invalidatePermissionCache(user.id);
  const label = bindingLabel(binding);
  await recordAdminChange(actor, 'role_binding.delete', target, { role: binding.role.name, department: binding.department?.slug ?? '', binding: label });
}
