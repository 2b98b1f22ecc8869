/**
 * A user together with what every description of them needs: their department and their role
 * bindings (each binding's role and department, for labels like `admin@finance`). Sign-in, the
 * dashboard session, token issuance, the CLI and the admin pages all read users this way, so the
 * query and the labelling live here once.
 */
import { db } from '@/lib/db/client';
import type { Prisma } from '@/lib/generated/prisma/client';
import { roleLabels } from '@/lib/rbac/labels';

/** Bindings in the order they were made, so the admin page lists them as they were granted. */
export const withDepartmentAndRoles = {
  department: true,
  roleBindings: { include: { role: true, department: true }, orderBy: { createdAt: 'asc' } },
} as const satisfies Prisma.UserInclude;

export type UserWithRoles = Prisma.UserGetPayload<{ include: typeof withDepartmentAndRoles }>;

/** Who a user is and what they hold, as sign-in and the dashboard session carry it. */
export interface UserProfile {
  id: string;
  email: string;
  name: string;
  tenantId: string;
  departmentId: string | null;
  departmentSlug: string | null;
  /** Role labels, each once, sorted; department-scoped bindings read `role@department`. */
  roles: string[];
}

export function userProfile(user: UserWithRoles): UserProfile {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    tenantId: user.tenantId,
    departmentId: user.departmentId,
    departmentSlug: user.department?.slug ?? null,
    roles: roleLabels(user.roleBindings),
  };
}

/** The first user matching `where` (an id, or an id within a tenant…), with department and roles. */
export function findUserWithRoles(where: Prisma.UserWhereInput): Promise<UserWithRoles | null> {
  return db().user.findFirst({ where, include: withDepartmentAndRoles });
}

/** Users matching `where`, by email, with department and roles: the list behind the CLI and the admin page. */
export function listUsersWithRoles(where: Prisma.UserWhereInput = {}): Promise<UserWithRoles[]> {
  return db().user.findMany({ where, orderBy: { email: 'asc' }, include: withDepartmentAndRoles });
}

/** The columns every list of users starts with; `department` is the caller's label (slug or name). */
export interface ListedUser {
  id: string;
  email: string;
  name: string;
  department: string | null;
  roles: string[];
  status: 'active' | 'disabled';
}

/**
 * A user as a list row: the CLI names the department by slug (what its flags take), the admin page
 * by display name, so the label is passed in; the rest is the same everywhere.
 */
export function listedUser(user: UserWithRoles, department: string | null): ListedUser {
  return { id: user.id, email: user.email, name: user.name, department, roles: roleLabels(user.roleBindings), status: user.status };
}
