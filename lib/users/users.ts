import { z } from 'zod';
import { hashPassword, generatePassword } from '@/lib/auth/password';
import { db } from '@/lib/db/client';
import { Prisma } from '@/lib/generated/prisma/client';
import { recordUserChange } from './change-audit';
import { ensureDepartment, primaryTenant, UserInputError } from './tenant';
import { listedUser, listUsersWithRoles, type ListedUser } from './with-roles';

export const MIN_PASSWORD_LENGTH = 12;

export const newUserSchema = z.object({
  email: z.email('must be an email address').transform((email) => email.toLowerCase()),
  name: z.string().trim().min(1, 'must not be empty').max(200),
  department: z.string().trim().min(1).max(100).optional(),
  roles: z.array(z.string().trim().min(1)).min(1, 'name at least one role').default(['member']),
  password: z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).optional(),
});
export type NewUser = z.input<typeof newUserSchema>;

/** Who made a change, for the audit trail. CLI and seeding act as the system. */
export interface ChangeActor {
  user_id?: string;
  email?: string;
  roles?: string[];
  call_source: 'cli' | 'dashboard' | 'system';
}

export interface CreatedUser {
  id: string;
  email: string;
  /** Only when Gatehouse generated the password: shown once, never stored in clear. */
  generatedPassword?: string;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ');
}

export async function createUser(input: NewUser, actor: ChangeActor, options: { generatePasswordIfMissing?: boolean } = {}): Promise<CreatedUser> {
  const parsed = newUserSchema.safeParse(input);
  if (!parsed.success) throw new UserInputError(describeIssues(parsed.error));
  const data = parsed.data;
  const tenant = await primaryTenant();

  const roles = await db().role.findMany({ where: { tenantId: tenant.id, name: { in: data.roles } } });
  const unknown = data.roles.filter((name) => !roles.some((role) => role.name === name));
  if (unknown.length > 0) {
    const known = await db().role.findMany({ where: { tenantId: tenant.id }, select: { name: true }, orderBy: { name: 'asc' } });
    throw new UserInputError(`unknown role ${unknown.join(', ')} (known: ${known.map((r) => r.name).join(', ')})`);
  }
  const department = data.department ? await ensureDepartment(tenant.id, data.department) : null;
  const generatedPassword = !data.password && options.generatePasswordIfMissing ? generatePassword() : undefined;
  const password = data.password ?? generatedPassword;

  try {
    const user = await db().user.create({
      data: {
        tenantId: tenant.id,
        email: data.email,
        name: data.name,
        departmentId: department?.id ?? null,
        passwordHash: password ? await hashPassword(password) : null,
        roleBindings: { create: roles.map((role) => ({ roleId: role.id })) },
      },
    });
    await recordUserChange(tenant.id, 'user.create', actor, {
      attributes: { target_user_id: user.id, target_email: user.email, roles: data.roles.join(','), department: department?.slug ?? '' },
    });
    return { id: user.id, email: user.email, generatedPassword };
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new UserInputError(`a user with email ${data.email} already exists`);
    }
    throw error;
  }
}

/** A row of `gatehouse users list`; the department is named by slug, as the CLI's flags take it. */
export interface UserSummary extends ListedUser {
  lastSignInAt: Date | null;
  createdAt: Date;
}

export async function listUsers(): Promise<UserSummary[]> {
  const users = await listUsersWithRoles();
  return users.map((user) => ({
    ...listedUser(user, user.department?.slug ?? null),
    lastSignInAt: user.lastSignInAt,
    createdAt: user.createdAt,
  }));
}
