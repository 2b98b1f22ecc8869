import { getServerSession } from 'next-auth';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import { db } from '@/lib/db/client';
import type { AuthorizationPrincipal } from '@/lib/rbac/authorize';
import { signInPath } from './callback-url';
import { authOptions } from './options';
import { roleLabels } from '@/lib/rbac/labels';

export interface DashboardUser {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  departmentId: string | null;
  departmentSlug: string | null;
  /** As displayed: department-scoped bindings read `role@department`. */
  roles: string[];
}

/**
 * The signed-in person as the database sees them now. The session token only says who they are;
 * a user disabled or removed since signing in is treated as signed out on their next page.
 * What they may do is asked of lib/rbac (authorize), never read from the token.
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
  const roles = roleLabels(user.roleBindings);
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    name: user.name,
    departmentId: user.departmentId,
    departmentSlug: user.department?.slug ?? null,
    roles,
  };
});

/** For dashboard pages: the user, or a redirect to sign in that comes back to `currentPath`. */
export async function requireDashboardUser(currentPath: string): Promise<DashboardUser> {
  const user = await getDashboardUser();
  if (!user) redirect(signInPath(currentPath));
  return user;
}

/** The dashboard user as lib/rbac's authorize() takes them (permissions come from the database). */
export function dashboardPrincipal(user: DashboardUser): AuthorizationPrincipal {
  return { userId: user.id, tenantId: user.tenantId };
}
