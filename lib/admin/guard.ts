import { authorize, type AuthorizationResource } from '@/lib/rbac/authorize';
import { ForbiddenError } from '@/lib/rbac/errors';
import type { Permission } from '@/lib/rbac/permissions';
import { principalOf, type AdminActor } from './actor';
import { recordAdminChange, type AdminTarget } from './audit';

async function refuse(actor: AdminActor, permission: Permission, departmentId: string | null, action: string, target?: AdminTarget): Promise<never> {
  // Someone tried: the refusal is part of the audit trail too.
  await recordAdminChange(actor, action, target, { permission, ...(departmentId ? { department_id: departmentId } : {}) }, 'denied');
  throw new ForbiddenError(permission, departmentId);
}

/** Checks a permission for an admin action; a refusal is recorded as a denied `admin.change`. */
export async function requireAdmin(actor: AdminActor, permission: Permission, resource: AuthorizationResource | undefined, action: string, target?: AdminTarget): Promise<void> {
  if (!(await authorize(principalOf(actor), permission, resource))) await refuse(actor, permission, resource?.departmentId ?? null, action, target);
}

export interface ManagedUserRef {
  id: string;
  email: string;
  tenantId: string;
  departmentId: string | null;
}

/**
 * Managing a user (profile, status, sessions) takes users.admin for the user's department. A
 * user who is an administrator tenant-wide can only be managed by another tenant-wide one, so a
 * department administrator cannot lock out the people above them.
 */
export async function canManageUser(actor: AdminActor, user: ManagedUserRef): Promise<boolean> {
  const principal = principalOf(actor);
  if (!(await authorize(principal, 'users.admin', { departmentId: user.departmentId }))) return false;
  if (!(await authorize({ userId: user.id, tenantId: user.tenantId }, 'users.admin'))) return true;
  return authorize(principal, 'users.admin');
}

export async function requireUserManagement(actor: AdminActor, user: ManagedUserRef, action: string): Promise<void> {
  if (!(await canManageUser(actor, user))) await refuse(actor, 'users.admin', user.departmentId, action, { type: 'user', id: user.id, name: user.email });
}
