import { getServerSession } from 'next-auth';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import { db } from '@/lib/db/client';
import type { Permission } from '@/lib/rbac/permissions';
import { signInPath } from './callback-url';
import { authOptions } from './options';

export interface DashboardUser {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  departmentSlug: string | null;
  /** As displayed: department-scoped bindings read `role@department`. */
  roles: string[];
  /** Granted tenant-wide, i.e. by bindings without a department: what dashboard pages need. */
  permissions: string[];
}

/**
 * The signed-in person as the database sees them now. The session token only says who they are;
 * a user disabled or removed since signing in is treated as signed out on their next page.
 * Cached per request so the layout and the page share one lookup.
 */
export const getDashboardUser = cache(async (): Promise<DashboardUser | null> => {
  const session = await getServerSession(authOptions);
  const id = session?.user?.id;
  const tenantId = session?.user?.tenantId;
  if (!id || !tenantId) return null;
  const user = await db().user.findFirst({
    where: { id, tenantId, status: 'active' },
    include: { department: true, roleBindings: { include: { role: true, department: true } } },
  });
  if (!user) return null;
  const roles = user.roleBindings.map((binding) => (binding.department ? `${binding.role.name}@${binding.department.slug}` : binding.role.name));
  const permissions = user.roleBindings.filter((binding) => binding.departmentId === null).flatMap((binding) => binding.role.permissions);
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    name: user.name,
    departmentSlug: user.department?.slug ?? null,
    roles: [...new Set(roles)].sort(),
    permissions: [...new Set(permissions)].sort(),
  };
});

/** For dashboard pages: the user, or a redirect to sign in that comes back to `currentPath`. */
export async function requireDashboardUser(currentPath: string): Promise<DashboardUser> {
  const user = await getDashboardUser();
  if (!user) redirect(signInPath(currentPath));
  return user;
}

export function hasPermission(user: DashboardUser, permission: Permission): boolean {
  return user.permissions.includes(permission);
}
