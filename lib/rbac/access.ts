import { db } from '@/lib/db/client';
import { builtInRole, isPermission, type Permission } from './permissions';
import { bindingLabel } from './labels';

/** One role binding as authorisation sees it: which permissions, where. */
export interface Grant {
  /** How tokens and the dashboard name the binding: `role`, or `role@department` when scoped. */
  label: string;
  roleName: string;
  /** Null for a tenant-wide binding. */
  departmentId: string | null;
  departmentSlug: string | null;
  permissions: ReadonlySet<Permission>;
}

/** Everything needed to answer authorisation questions about one user. */
export interface UserAccess {
  userId: string;
  tenantId: string;
  active: boolean;
  grants: readonly Grant[];
}

/**
 * A built-in role always carries the catalogue's permissions (the database copy is refreshed at
 * start, but a process running newer code must not act on an older copy); a custom role carries
 * what an administrator ticked, minus anything no longer in the catalogue.
 */
function rolePermissions(role: { name: string; builtIn: boolean; permissions: string[] }): ReadonlySet<Permission> {
  const catalogue = role.builtIn ? builtInRole(role.name) : undefined;
  return new Set(catalogue ? catalogue.permissions : role.permissions.filter(isPermission));
}

/** Reads a user's bindings; null when the user does not exist. */
export async function loadUserAccess(userId: string): Promise<UserAccess | null> {
  const user = await db().user.findUnique({
    where: { id: userId },
    select: {
      id: true,
      tenantId: true,
      status: true,
      roleBindings: { select: { departmentId: true, department: { select: { slug: true } }, role: { select: { name: true, builtIn: true, permissions: true } } } },
    },
  });
  if (!user) return null;
  return {
    userId: user.id,
    tenantId: user.tenantId,
    active: user.status === 'active',
    grants: user.roleBindings.map((binding) => ({
      label: bindingLabel(binding),
      roleName: binding.role.name,
      departmentId: binding.departmentId,
      departmentSlug: binding.department?.slug ?? null,
      permissions: rolePermissions(binding.role),
    })),
  };
}
