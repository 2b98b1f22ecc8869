import { db } from '@/lib/db/client';
import { Prisma } from '@/lib/generated/prisma/client';
import { holdsAnywhere } from '@/lib/rbac/authorize';
import { ForbiddenError } from '@/lib/rbac/errors';
import { slugify, UserInputError } from '@/lib/users/tenant';
import { principalOf, type AdminActor } from './actor';
import { recordAdminChange } from './audit';
import { requireAdmin } from './guard';

export interface DepartmentRow {
  id: string;
  slug: string;
  name: string;
  users: number;
  createdAt: string;
}

export interface DepartmentOption {
  id: string;
  name: string;
  slug: string;
}

/** Names for pickers (user forms, role bindings): anyone who may open those forms may read them. */
export async function departmentOptions(tenantId: string): Promise<DepartmentOption[]> {
  return db().department.findMany({ where: { tenantId }, orderBy: { name: 'asc' }, select: { id: true, name: true, slug: true } });
}

export async function listDepartments(actor: AdminActor): Promise<DepartmentRow[]> {
  if (!(await holdsAnywhere(principalOf(actor), 'users.read'))) throw new ForbiddenError('users.read');
  const departments = await db().department.findMany({ where: { tenantId: actor.tenantId }, orderBy: { name: 'asc' }, include: { _count: { select: { users: true } } } });
  return departments.map((department) => ({ id: department.id, slug: department.slug, name: department.name, users: department._count.users, createdAt: department.createdAt.toISOString() }));
}

function cleanName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 100) throw new UserInputError('a department name is 1-100 characters');
  return trimmed;
}

/**
 * Creates a department. Its slug (what tokens, routes and SSO department maps name it by) is
 * derived from the name once and never changes.
 */
export async function createDepartment(actor: AdminActor, input: { name: string; slug?: string }): Promise<DepartmentRow> {
  const name = cleanName(input.name);
  const slug = slugify(input.slug?.trim() || name);
  await requireAdmin(actor, 'users.admin', undefined, 'department.create', { type: 'department', name });
  if (!slug) throw new UserInputError('the department needs a name with letters or digits');
  try {
    const department = await db().department.create({ data: { tenantId: actor.tenantId, name, slug } });
    await recordAdminChange(actor, 'department.create', { type: 'department', id: department.id, name }, { slug });
    return { id: department.id, slug, name, users: 0, createdAt: department.createdAt.toISOString() };
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw new UserInputError(`a department with slug "${slug}" already exists`);
    throw error;
  }
}

/** Renames a department; the slug stays, so nothing that refers to it breaks. */
export async function renameDepartment(actor: AdminActor, departmentId: string, newName: string): Promise<void> {
  const name = cleanName(newName);
  const department = await db().department.findFirst({ where: { id: departmentId, tenantId: actor.tenantId } });
  if (!department) throw new UserInputError('that department does not exist (any more)');
  await requireAdmin(actor, 'users.admin', undefined, 'department.rename', { type: 'department', id: department.id, name: department.name });
  if (department.name === name) return;
  await db().department.update({ where: { id: department.id }, data: { name } });
  await recordAdminChange(actor, 'department.rename', { type: 'department', id: department.id, name }, { slug: department.slug, name_from: department.name, name_to: name });
}
