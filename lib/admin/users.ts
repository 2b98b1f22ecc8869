import { generatePassword, hashPassword } from '@/lib/auth/password';
import { db } from '@/lib/db/client';
import { Prisma } from '@/lib/generated/prisma/client';
import { authorize, permissionScope } from '@/lib/rbac/authorize';
import { invalidatePermissionCache } from '@/lib/rbac/cache';
import { ForbiddenError } from '@/lib/rbac/errors';
import { invalidateRevocationCache } from '@/lib/tokens/revocation';
import { revokeUser } from '@/lib/users/revoke';
import { UserInputError } from '@/lib/users/tenant';
import { findUserWithRoles, listedUser, listUsersWithRoles, type ListedUser, type UserWithRoles } from '@/lib/users/with-roles';
import { changeActorOf, principalOf, type AdminActor } from './actor';
import { recordAdminChange } from './audit';
import { canManageUser, requireAdmin, requireUserManagement } from './guard';
import { assertAdministratorRemains } from './last-admin';
import { bindingLabel } from '@/lib/rbac/labels';

/** One row of the users table; plain data, so it can cross to the client component. */
export interface ManagedUserRow extends ListedUser {
  /** ISO timestamp, or null if the user never signed in. */
  lastSignInAt: string | null;
  /** ISO timestamp of the last gateway request (to within minutes), or null if there was none. */
  lastActiveAt: string | null;
  /** Users created by SSO have no password: they can only sign in through their IdP. */
  hasPassword: boolean;
}

export interface ManagedBinding {
  id: string;
  roleId: string;
  roleName: string;
  departmentId: string | null;
  departmentName: string | null;
  /** `role` or `role@department`, as tokens name it. */
  label: string;
}

export interface ManagedUserDetail extends ManagedUserRow {
  departmentId: string | null;
  createdAt: string;
  bindings: ManagedBinding[];
  /** Identity-provider accounts bound to the user: single sign-on signs in as them only through these. */
  ssoIdentities: number;
  /** What the viewer may do here, so the page offers only that. */
  canManage: boolean;
  canManageBindings: boolean;
}

function toRow(user: UserWithRoles): ManagedUserRow {
  return {
    ...listedUser(user, user.department?.name ?? null),
    lastSignInAt: user.lastSignInAt?.toISOString() ?? null,
    lastActiveAt: user.lastActiveAt?.toISOString() ?? null,
    hasPassword: user.passwordHash !== null,
  };
}

async function findTenantUser(actor: AdminActor, userId: string): Promise<UserWithRoles> {
  const user = await findUserWithRoles({ id: userId, tenantId: actor.tenantId });
  if (!user) throw new UserInputError('that user does not exist (any more)');
  return user;
}

/** The users the viewer may see: everyone with tenant-wide users.read, else their departments' users. */
export async function listManagedUsers(actor: AdminActor): Promise<ManagedUserRow[]> {
  const scope = await permissionScope(principalOf(actor), 'users.read');
  if (!scope.tenantWide && scope.departmentIds.size === 0) throw new ForbiddenError('users.read');
  const users = await listUsersWithRoles({ tenantId: actor.tenantId, ...(scope.tenantWide ? {} : { departmentId: { in: [...scope.departmentIds] } }) });
  return users.map((user) => toRow(user));
}

export async function getManagedUser(actor: AdminActor, userId: string): Promise<ManagedUserDetail> {
  const user = await findTenantUser(actor, userId);
  const principal = principalOf(actor);
  if (!(await authorize(principal, 'users.read', { departmentId: user.departmentId }))) throw new ForbiddenError('users.read', user.departmentId);
  const canManage = await canManageUser(actor, user);
  return {
    ...toRow(user),
    departmentId: user.departmentId,
    createdAt: user.createdAt.toISOString(),
    bindings: user.roleBindings.map((binding) => ({
      id: binding.id,
      roleId: binding.roleId,
      roleName: binding.role.name,
      departmentId: binding.departmentId,
      departmentName: binding.department?.name ?? null,
      label: bindingLabel(binding),
    })),
    ssoIdentities: await db().userSsoIdentity.count({ where: { userId: user.id } }),
    canManage,
    canManageBindings: await authorize(principal, 'users.admin'),
  };
}

async function tenantDepartment(actor: AdminActor, departmentId: string | null) {
  if (!departmentId) return null;
  const department = await db().department.findFirst({ where: { id: departmentId, tenantId: actor.tenantId } });
  if (!department) throw new UserInputError('that department does not exist (any more)');
  return department;
}

export interface NewManagedUser {
  email: string;
  name: string;
  departmentId: string | null;
  roleId: string;
  /** Bind the role only inside the user's department rather than tenant-wide. */
  scopeRoleToDepartment: boolean;
}

export interface CreatedManagedUser {
  id: string;
  email: string;
  /** Shown once to the administrator; only its scrypt hash is stored. */
  password: string;
}

/** Creates a local account with a generated password and one role binding. Tenant-wide users.admin. */
export async function createManagedUser(actor: AdminActor, input: NewManagedUser): Promise<CreatedManagedUser> {
  const email = input.email.trim().toLowerCase();
  await requireAdmin(actor, 'users.admin', undefined, 'user.create', { type: 'user', name: email });
  const department = await tenantDepartment(actor, input.departmentId);
  const role = await db().role.findFirst({ where: { id: input.roleId, tenantId: actor.tenantId } });
  if (!role) throw new UserInputError('that role does not exist (any more)');
  if (input.scopeRoleToDepartment && !department) throw new UserInputError('choose a department to limit the role to');
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  const bindingDepartmentId = input.scopeRoleToDepartment ? department!.id : null;
  let user;
  try {
    user = await db().user.create({
      data: {
        tenantId: actor.tenantId,
        email,
        name: input.name.trim(),
        departmentId: department?.id ?? null,
        passwordHash,
        roleBindings: { create: [{ roleId: role.id, departmentId: bindingDepartmentId }] },
      },
    });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw new UserInputError(`a user with email ${email} already exists`);
    throw error;
  }
  await recordAdminChange(actor, 'user.create', { type: 'user', id: user.id, name: email }, {
    department: department?.slug ?? '',
    roles: bindingDepartmentId ? `${role.name}@${department!.slug}` : role.name,
    password: 'generated',
  });
  return { id: user.id, email, password };
}

export interface ProfileChange {
  name: string;
  departmentId: string | null;
}

/** Renames a user or moves them to another department (users.admin for both departments). */
export async function updateManagedUser(actor: AdminActor, userId: string, change: ProfileChange): Promise<void> {
  const user = await findTenantUser(actor, userId);
  await requireUserManagement(actor, user, 'user.update');
  const department = await tenantDepartment(actor, change.departmentId);
  if (department?.id !== user.departmentId) {
    await requireAdmin(actor, 'users.admin', { departmentId: department?.id ?? null }, 'user.update', { type: 'user', id: user.id, name: user.email });
  }
  const name = change.name.trim();
  if (name === user.name && (department?.id ?? null) === user.departmentId) return;
  await db().user.update({ where: { id: user.id }, data: { name, departmentId: department?.id ?? null } });
  await recordAdminChange(actor, 'user.update', { type: 'user', id: user.id, name: user.email }, {
    ...(name !== user.name ? { name_from: user.name, name_to: name } : {}),
    ...((department?.id ?? null) !== user.departmentId ? { department_from: user.department?.slug ?? '', department_to: department?.slug ?? '' } : {}),
  });
}

/**
 * Disables a user the way `gatehouse users revoke` does (account off, every sign-in ended), or
 * enables them again. Nobody disables themselves, and the last
 * administrator stays.
 */
export async function setManagedUserStatus(actor: AdminActor, userId: string, status: 'active' | 'disabled'): Promise<void> {
  const user = await findTenantUser(actor, userId);
  const action = status === 'disabled' ? 'user.disable' : 'user.enable';
  await requireUserManagement(actor, user, action);
  if (status === 'disabled') {
    if (user.id === actor.userId) throw new UserInputError('you cannot disable your own account');
    await assertAdministratorRemains(db(), actor.tenantId, user.id);
    await revokeUser(user.email, changeActorOf(actor));
  } else {
    if (user.status === 'active') return;
    await db().user.update({ where: { id: user.id }, data: { status: 'active' } });
    invalidateRevocationCache();
    await recordAdminChange(actor, 'user.enable', { type: 'user', id: user.id, name: user.email }, { status: 'active', previous_status: user.status });
  }
  invalidatePermissionCache(user.id);
}
