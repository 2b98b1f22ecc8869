import type { Prisma } from '@/lib/generated/prisma/client';
import { db } from '@/lib/db/client';
import { UserInputError } from '@/lib/users/tenant';

type Client = Prisma.TransactionClient | ReturnType<typeof db>;

/**
 * Refuses a change that would leave the tenant with nobody able to manage users: some active
 * user must keep a tenant-wide binding to a role carrying users.admin. Run inside the change's
 * transaction, after the change, so it judges the result; `excludingUserId` judges a user's
 * disabling before it happens.
 */
export async function assertAdministratorRemains(client: Client, tenantId: string, excludingUserId?: string): Promise<void> {
  const administrators = await client.user.count({
    where: {
      tenantId,
      status: 'active',
      ...(excludingUserId ? { id: { not: excludingUserId } } : {}),
      roleBindings: { some: { departmentId: null, role: { permissions: { has: 'users.admin' } } } },
    },
  });
  if (administrators === 0) throw new UserInputError('this would leave nobody able to manage users: keep at least one active administrator');
}
