import { z } from 'zod';
import { UserInputError } from '@/lib/users/tenant';

// The dashboard's admin forms, validated before anything reaches lib/admin. Messages are
// written to be shown as they are.

const id = (what: string) => z.guid({ error: `choose a ${what}` });
const optionalId = (what: string) =>
  z
    .string()
    .optional()
    .transform((value) => (value ? value : null))
    .pipe(z.guid({ error: `choose a ${what}` }).nullable());
const checkbox = z
  .string()
  .optional()
  .transform((value) => value === 'on' || value === 'true');
const personName = z.string({ error: 'enter a name' }).trim().min(1, 'enter a name').max(200, 'a name is at most 200 characters');

export const createUserForm = z.object({
  email: z.string().trim().pipe(z.email({ error: 'enter a valid email address' })).pipe(z.string().max(320)),
  name: personName,
  departmentId: optionalId('department'),
  roleId: id('role'),
  scopeRoleToDepartment: checkbox,
});

export const updateUserForm = z.object({ userId: id('user'), name: personName, departmentId: optionalId('department') });
export const userStatusForm = z.object({ userId: id('user'), status: z.enum(['active', 'disabled']) });
export const addBindingForm = z.object({ userId: id('user'), roleId: id('role'), departmentId: optionalId('department') });
export const removeBindingForm = z.object({ userId: id('user'), bindingId: id('role binding') });
export const createDepartmentForm = z.object({ name: z.string().trim().min(1, 'enter a department name').max(100, 'a department name is at most 100 characters') });
export const renameDepartmentForm = createDepartmentForm.extend({ departmentId: id('department') });
const roleFields = {
  description: z.string().max(500, 'the description is at most 500 characters').default(''),
  permissions: z.array(z.string()).min(1, 'tick at least one permission'),
};
export const createRoleForm = z.object({ name: z.string().trim().min(1, 'enter a role name'), ...roleFields });
export const updateRoleForm = z.object({ roleId: id('role'), ...roleFields });
export const deleteRoleForm = z.object({ roleId: id('role') });
export const revokeSessionForm = z.object({ userId: id('user'), sessionId: id('session') });
export const revokeAllSessionsForm = z.object({ userId: id('user') });
export const clientStatusForm = z.object({ clientId: z.string().min(1).max(200), disabled: z.enum(['true', 'false']).transform((value) => value === 'true') });

/** Fields that may repeat (checkbox groups) arrive as arrays; everything else as one string. */
const REPEATED = new Set(['permissions']);

/** Parses a submitted form; a problem becomes a UserInputError naming the first field at fault. */
export function parseForm<Schema extends z.ZodType>(schema: Schema, form: FormData): z.output<Schema> {
  const fields: Record<string, unknown> = {};
  for (const key of new Set(form.keys())) {
    if (key.startsWith('$ACTION')) continue; // Next's own fields
    fields[key] = REPEATED.has(key) ? form.getAll(key).map(String) : String(form.get(key) ?? '');
  }
  for (const key of REPEATED) fields[key] ??= [];
  const parsed = schema.safeParse(fields);
  if (!parsed.success) throw new UserInputError(capitalise(parsed.error.issues[0]?.message ?? 'the form is not valid'));
  return parsed.data;
}

function capitalise(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}
