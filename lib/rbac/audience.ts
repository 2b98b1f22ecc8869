import { db } from '@/lib/db/client';
import { UserInputError } from '@/lib/users/tenant';

/**
 * Who something is for: everyone, a role, a department or one user. Plugin entitlements, MCP
 * server scopes and tool policy rules all store such entries as (kind, subject), the subject
 * being the role name, the department id or the user id (empty for everyone); this module is the
 * one place that decides whether a user falls inside them.
 */
export type AudienceKind = 'everyone' | 'role' | 'department' | 'user';

export interface AudienceEntry {
  kind: AudienceKind;
  subject: string;
}

/** A user as audiences see them: their role names (any binding, tenant-wide or not) and department. */
export interface Audience {
  tenantId: string;
  userId: string;
  /** Role names; a binding label such as `author@research` counts as the role `author`. */
  roles: readonly string[];
  departmentId: string | null;
}

/** The role a binding label names: `author@research` → `author`. */
export function roleNameOf(label: string): string {
  const at = label.indexOf('@');
  return at === -1 ? label : label.slice(0, at);
}

/** The user's audience read from the database now (so a removed binding counts at once); null for an unknown or disabled user. */
export async function audienceOf(tenantId: string, userId: string): Promise<Audience | null> {
  const user = await db().user.findFirst({
    where: { id: userId, tenantId, status: 'active' },
    select: { departmentId: true, roleBindings: { select: { role: { select: { name: true } } } } },
  });
  if (!user) return null;
  return { tenantId, userId, roles: [...new Set(user.roleBindings.map((binding) => binding.role.name))], departmentId: user.departmentId };
}

/** A where-fragment over (kind, subject) rows: the entries that include this user. */
export function audienceFilter(audience: Audience) {
  return [
    { kind: 'everyone' as const },
    { kind: 'role' as const, subject: { in: [...new Set(audience.roles.map(roleNameOf))] } },
    ...(audience.departmentId ? [{ kind: 'department' as const, subject: audience.departmentId }] : []),
    { kind: 'user' as const, subject: audience.userId },
  ];
}

/** Whether one entry includes the user (the in-memory form of audienceFilter). */
export function includes(entry: AudienceEntry, audience: Pick<Audience, 'userId' | 'roles' | 'departmentId'>): boolean {
  switch (entry.kind) {
    case 'everyone':
      return true;
    case 'role':
      return audience.roles.some((role) => roleNameOf(role) === entry.subject);
    case 'department':
      return audience.departmentId !== null && audience.departmentId === entry.subject;
    case 'user':
      return audience.userId === entry.subject;
  }
}

/** An entry as an administrator names it: role name, department slug (or name), user email. */
export interface AudienceTarget {
  kind: AudienceKind;
  /** Ignored for everyone. */
  value?: string;
}

/** The stored subject for what an administrator named, and how to show it; UserInputError when it names nothing. */
export async function resolveAudienceTarget(tenantId: string, target: AudienceTarget): Promise<AudienceEntry & { label: string }> {
  const value = (target.value ?? '').trim();
  switch (target.kind) {
    case 'everyone':
      return { kind: 'everyone', subject: '', label: 'everyone' };
    case 'role': {
      const role = await db().role.findFirst({ where: { tenantId, name: value } });
      if (!role) throw new UserInputError(`no role named ${value}`);
      return { kind: 'role', subject: role.name, label: `role ${role.name}` };
    }
    case 'department': {
      const department = await db().department.findFirst({ where: { tenantId, OR: [{ slug: value }, { name: value }] } });
      if (!department) throw new UserInputError(`no department ${value}`);
      return { kind: 'department', subject: department.id, label: `department ${department.slug}` };
    }
    case 'user': {
      const user = await db().user.findFirst({ where: { tenantId, email: value.toLowerCase() } });
      if (!user) throw new UserInputError(`no user with email ${value}`);
      return { kind: 'user', subject: user.id, label: `user ${user.email}` };
    }
  }
}

/** How stored entries read (`department research`, `user a@b.c`), in the order given. */
export async function audienceLabels(tenantId: string, entries: readonly AudienceEntry[]): Promise<string[]> {
  const departmentIds = entries.filter((entry) => entry.kind === 'department').map((entry) => entry.subject);
  const userIds = entries.filter((entry) => entry.kind === 'user').map((entry) => entry.subject);
  const [departments, users] = await Promise.all([
    departmentIds.length ? db().department.findMany({ where: { tenantId, id: { in: departmentIds } }, select: { id: true, slug: true } }) : [],
    userIds.length ? db().user.findMany({ where: { tenantId, id: { in: userIds } }, select: { id: true, email: true } }) : [],
  ]);
  const slugs = new Map(departments.map((department) => [department.id, department.slug]));
  const emails = new Map(users.map((user) => [user.id, user.email]));
  return entries.map((entry) => {
    switch (entry.kind) {
      case 'everyone':
        return 'everyone';
      case 'role':
        return `role ${entry.subject}`;
      case 'department':
        return `department ${slugs.get(entry.subject) ?? entry.subject}`;
      case 'user':
        return `user ${emails.get(entry.subject) ?? entry.subject}`;
    }
  });
}
