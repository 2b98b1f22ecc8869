import { z } from 'zod';
import type { TokenSubject } from '@/lib/tokens/sign';
import { findUserWithRoles, userProfile } from '@/lib/users/with-roles';

/** A user as tokens describe them, read fresh from the database at every issuance. */
export interface UserIdentity extends TokenSubject {
  name: string;
  status: 'active' | 'disabled';
}

const userId = z.guid();

export async function loadUserIdentity(id: string): Promise<UserIdentity | null> {
  if (!userId.safeParse(id).success) return null;
  const user = await findUserWithRoles({ id });
  if (!user) return null;
  // Tokens name the department by slug and carry the same role labels as the dashboard.
  const profile = userProfile(user);
  return {
    userId: profile.id,
    email: profile.email,
    name: profile.name,
    tenantId: profile.tenantId,
    department: profile.departmentSlug,
    roles: profile.roles,
    status: user.status,
  };
}
