import { db } from '@/lib/db/client';

/** One row of the users table, serialisable for the client component. */
export interface UserRow {
  id: string;
  email: string;
  name: string;
  department: string | null;
  roles: string[];
  status: 'active' | 'disabled';
  /** ISO timestamp, or null if the user never signed in. */
  lastSignInAt: string | null;
  locked: boolean;
}

export async function listTenantUsers(tenantId: string, now: Date = new Date()): Promise<UserRow[]> {
  const users = await db().user.findMany({
    where: { tenantId },
    orderBy: { email: 'asc' },
    include: { department: true, roleBindings: { include: { role: true, department: true } } },
  });
  return users.map((user) => ({
    id: user.id,
    email: user.email,
    name: user.name,
    department: user.department?.name ?? null,
    roles: [...new Set(user.roleBindings.map((b) => (b.department ? `${b.role.name}@${b.department.slug}` : b.role.name)))].sort(),
    status: user.status,
    lastSignInAt: user.lastSignInAt?.toISOString() ?? null,
    locked: user.lockedUntil !== null && user.lockedUntil.getTime() > now.getTime(),
  }));
}
