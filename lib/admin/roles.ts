import { db } from '@/lib/db/client';
import { Prisma } from '@/lib/generated/prisma/client';
import { holdsAnywhere } from '@/lib/rbac/authorize';
import { invalidatePermissionCache } from '@/lib/rbac/cache';
import { ForbiddenError } from '@/lib/rbac/errors';
import { builtInRole, isPermission, PERMISSIONS, type Permission } from '@/lib/rbac/permissions';
import { UserInputError } from '@/lib/users/tenant';
import { principalOf, type AdminActor } from './actor';
import { recordAdminChange } from './audit';
import { requireAdmin } from './guard';
import { assertAdministratorRemains } from './last-admin';

export interface RoleRow {
  id: string;
  name: string;
  description: string;
  permissions: Permission[];
  builtIn: boolean;
  /** How many role bindings use it. */
  bindings: number;
}

export interface RoleOption {
  id: string;
  name: string;
  builtIn: boolean;
}

/** Custom role names share the namespace of built-in ones and SSO role maps refer to them. */
export const ROLE_NAME_PATTERN = /^[a-z][a-z0-9_-]{1,62}$/;

function catalogueOrder(permissions: readonly string[]): Permission[] {
  return PERMISSIONS.filter((permission) => permissions.includes(permission));
}

function toRow(role: { id: string; name: string; description: string; permissions: string[]; builtIn: boolean; _count: { bindings: number } }): RoleRow {
  const catalogue = role.builtIn ? builtInRole(role.name) : undefined;
  return {
    id: role.id,
    name: role.name,
    description: catalogue?.description ?? role.description,
    permissions: catalogueOrder(catalogue ? catalogue.permissions : role.permissions),
    builtIn: role.builtIn,
    bindings: role._count.bindings,
  };
}

/** What a role picker preselects: the least privileged built-in role, so a hasty click grants little. */
export function defaultRoleId(roles: readonly RoleOption[]): string | undefined {
  return roles.find((role) => role.builtIn && role.name === 'member')?.id;
}

/** Names for pickers: built-in roles first. */
export async function roleOptions(tenantId: string): Promise<RoleOption[]> {
  const roles = await db().role.findMany({ where: { tenantId }, orderBy: [{ builtIn: 'desc' }, { name: 'asc' }], select: { id: true, name: true, builtIn: true } });
  return roles;
}

export async function listRoles(actor: AdminActor): Promise<RoleRow[]> {
  if (!(await holdsAnywhere(principalOf(actor), 'users.read'))) throw new ForbiddenError('users.read');
  const roles = await db().role.findMany({ where: { tenantId: actor.tenantId }, orderBy: [{ builtIn: 'desc' }, { name: 'asc' }], include: { _count: { select: { bindings: true } } } });
  return roles.map(toRow);
}

export async function getRole(actor: AdminActor, roleId: string): Promise<RoleRow> {
  if (!(await holdsAnywhere(principalOf(actor), 'users.read'))) throw new ForbiddenError('users.read');
  const role = await db().role.findFirst({ where: { id: roleId, tenantId: actor.tenantId }, include: { _count: { select: { bindings: true } } } });
  if (!role) throw new UserInputError('that role does not exist (any more)');
  return toRow(role);
}

export interface RoleDefinition {
  description: string;
  permissions: string[];
}

function checkDefinition(input: RoleDefinition): { description: string; permissions: Permission[] } {
  const unknown = input.permissions.filter((permission) => !isPermission(permission));
  if (unknown.length > 0) throw new UserInputError(`unknown permission ${unknown.join(', ')}`);
  if (input.permissions.length === 0) throw new UserInputError('tick at least one permission');
  const description = input.description.trim();
  if (description.length > 500) throw new UserInputError('the description is at most 500 characters');
  return { description, permissions: catalogueOrder(input.permissions) };
}

export async function createRole(actor: AdminActor, input: RoleDefinition & { name: string }): Promise<RoleRow> {
  const name = input.name.trim().toLowerCase();
  await requireAdmin(actor, 'users.admin', undefined, 'role.create', { type: 'role', name });
  if (!ROLE_NAME_PATTERN.test(name)) throw new UserInputError('a role name is 2-63 lowercase letters, digits, - or _, starting with a letter');
  if (builtInRole(name)) throw new UserInputError(`"${name}" is a built-in role`);
  const definition = checkDefinition(input);
  try {
    const role = await db().role.create({ data: { tenantId: actor.tenantId, name, ...definition, builtIn: false } });
    await recordAdminChange(actor, 'role.create', { type: 'role', id: role.id, name }, { permissions: definition.permissions.join(',') });
    return toRow({ ...role, _count: { bindings: 0 } });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw new UserInputError(`a role named "${name}" already exists`);
    throw error;
  }
}

async function customRole(actor: AdminActor, roleId: string, action: string) {
  const role = await db().role.findFirst({ where: { id: roleId, tenantId: actor.tenantId } });
  if (!role) throw new UserInputError('that role does not exist (any more)');
  await requireAdmin(actor, 'users.admin', undefined, action, { type: 'role', id: role.id, name: role.name });
  if (role.builtIn) throw new UserInputError(`built-in roles are read-only; create a custom role instead of changing "${role.name}"`);
  return role;
}

/** Changes a custom role's description and permissions; everyone holding it is affected at once. */
export async function updateRole(actor: AdminActor, roleId: string, input: RoleDefinition): Promise<void> {
  const role = await customRole(actor, roleId, 'role.update');
  const definition = checkDefinition(input);
  await db().$transaction(async (tx) => {
    await tx.role.update({ where: { id: role.id }, data: definition });
    await assertAdministratorRemains(tx, actor.tenantId);
  });
  invalidatePermissionCache();
  const added = definition.permissions.filter((permission) => !role.permissions.includes(permission));
  const removed = role.permissions.filter((permission) => !(definition.permissions as string[]).includes(permission));
  await recordAdminChange(actor, 'role.update', { type: 'role', id: role.id, name: role.name }, {
    permissions: definition.permissions.join(','),
    permissions_added: added.join(','),
    permissions_removed: removed.join(','),
  });
}

/** Deletes a custom role together with its bindings. */
export async function deleteRole(actor: AdminActor, roleId: string): Promise<{ bindingsRemoved: number }> {
  const role = await customRole(actor, roleId, 'role.delete');
  const bindingsRemoved = await db().$transaction(async (tx) => {
    const removed = await tx.roleBinding.deleteMany({ where: { roleId: role.id } });
    await tx.role.delete({ where: { id: role.id } });
    await assertAdministratorRemains(tx, actor.tenantId);
    return removed.count;
  });
  invalidatePermissionCache();
  await recordAdminChange(actor, 'role.delete', { type: 'role', id: role.id, name: role.name }, { bindings_removed: bindingsRemoved });
  return { bindingsRemoved };
}
