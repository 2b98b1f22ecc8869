import { db } from '@/lib/db/client';
import { findUserWithRoles, userProfile } from '@/lib/users/with-roles';
import { UserInputError } from '@/lib/users/tenant';
import type { PluginActor } from './events';
import { latestApproved } from './store';

/** The actor for a user named by email (the CLI's --as, tests): their roles as of now. */
export async function actorByEmail(email: string, callSource: PluginActor['callSource']): Promise<PluginActor> {
  const user = await findUserWithRoles({ email: email.trim().toLowerCase(), status: 'active' });
  if (!user) throw new UserInputError(`no active user with email ${email}`);
  const profile = userProfile(user);
  return { userId: profile.id, tenantId: profile.tenantId, email: profile.email, roles: profile.roles, callSource };
}

/** The administrator the CLI acts as when no --as is given: the earliest active tenant-wide admin. */
export async function defaultAdminActor(): Promise<PluginActor> {
  const binding = await db().roleBinding.findFirst({
    where: { departmentId: null, role: { name: 'admin', builtIn: true }, user: { status: 'active' } },
    orderBy: { createdAt: 'asc' },
    include: { user: true },
  });
  if (!binding) throw new UserInputError('no active administrator to act as; pass --as EMAIL');
  return actorByEmail(binding.user.email, 'cli');
}

export interface PluginListing {
  name: string;
  status: string;
  latest: string | null;
  versions: { version: string; status: string; createdAt: Date }[];
  entitlements: string[];
}

/** Every plugin of the tenant with its versions and entitlements (the CLI's list). */
export async function listAllPlugins(tenantId: string): Promise<PluginListing[]> {
  const plugins = await db().plugin.findMany({
    where: { tenantId },
    orderBy: { name: 'asc' },
    include: { versions: { orderBy: { createdAt: 'asc' } }, entitlements: true },
  });
  const departments = new Map((await db().department.findMany({ where: { tenantId } })).map((department) => [department.id, department.slug]));
  const userIds = plugins.flatMap((plugin) => plugin.entitlements.filter((entry) => entry.kind === 'user').map((entry) => entry.subject));
  const users = new Map((await db().user.findMany({ where: { id: { in: userIds } }, select: { id: true, email: true } })).map((user) => [user.id, user.email]));
  return plugins.map((plugin) => ({
    name: plugin.name,
    status: plugin.status,
    latest: latestApproved(plugin.versions)?.version ?? null,
    versions: plugin.versions.map((version) => ({ version: version.version, status: version.status, createdAt: version.createdAt })),
    entitlements: plugin.entitlements.map((entry) =>
      entry.kind === 'everyone' ? 'everyone' : entry.kind === 'department' ? `department:${departments.get(entry.subject) ?? entry.subject}` : entry.kind === 'user' ? `user:${users.get(entry.subject) ?? entry.subject}` : `role:${entry.subject}`,
    ),
  }));
}
