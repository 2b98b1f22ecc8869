import { getServerSession } from 'next-auth';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import type { AuthorizationPrincipal } from '@/lib/rbac/authorize';
import { findUserWithRoles, userProfile, type UserProfile } from '@/lib/users/with-roles';
import { signInPath } from './callback-url';
import { authOptions } from './options';

/** The signed-in dashboard user; roles as displayed (department-scoped bindings read `role@department`). */
export type DashboardUser = UserProfile;

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
  const user = await findUserWithRoles({ id, tenantId, status: 'active' });
  return user ? userProfile(user) : null;
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
