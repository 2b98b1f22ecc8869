import { z } from 'zod';
import { db } from '@/lib/db/client';
import type { TokenSubject } from '@/lib/tokens/sign';
import { roleLabels } from '@/lib/rbac/labels';

/** A user as tokens describe them, read fresh from the database at every issuance. */
export interface UserIdentity extends TokenSubject {
  name: string;
  status: 'active' | 'disabled';
}

const userId = z.guid();

export async function loadUserIdentity(id: string): Promise<UserIdentity | null> {
  if (!userId.safeParse(id).success) return null;
  const user = await db().user.findUnique({
    where: { id },
    include: { department: true, roleBindings: { include: { role: true, department: true } } },
  });
  if (!user) return null;
  // Same naming as the dashboard: a department-scoped binding reads `role@department`.
  const roles = roleLabels(user.roleBindings);
  return {
    userId: user.id,
    email: user.email,
    name: user.name,
    tenantId: user.tenantId,
    department: user.department?.slug ?? null,
    roles,
    status: user.status,
  };
}
