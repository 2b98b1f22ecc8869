import type { Metadata } from 'next';
import { ActionForm } from '@/components/admin/ActionForm';
import { CheckboxField, SelectField, TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { UsersTable } from '@/components/users/UsersTable';
import { departmentOptions } from '@/lib/admin/departments';
import { defaultRoleId, roleOptions } from '@/lib/admin/roles';
import { dashboardActor } from '@/lib/admin/run-action';
import { listManagedUsers } from '@/lib/admin/users';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { authorize, holdsAnywhere } from '@/lib/rbac/authorize';
import { createUserAction } from './actions';

export const metadata: Metadata = { title: 'Users' };

export default async function UsersPage() {
  const user = await requireDashboardUser('/users');
  const principal = dashboardPrincipal(user);
  // A department-scoped users.read opens the page on that department's users.
  if (!(await holdsAnywhere(principal, 'users.read'))) return <AccessDenied permission="users.read" tenantWide={false} />;
  const [users, canCreate] = await Promise.all([listManagedUsers(dashboardActor(user)), authorize(principal, 'users.admin')]);
  const [departments, roles] = canCreate ? await Promise.all([departmentOptions(user.tenantId), roleOptions(user.tenantId)]) : [[], []];
  const active = users.filter((row) => row.status === 'active').length;

  return (
    <>
      <PageHeader title="Users" description={`${users.length} ${users.length === 1 ? 'user' : 'users'}, ${active} active. Open a user to change their roles, department or sessions.`} />
      <div className="space-y-6">
        {canCreate ? (
          <Section title="Add user" description="Creates a local account with a generated password, shown once. People who sign in with SSO are added automatically.">
            <ActionForm action={createUserAction} label="Add user" submitLabel="Create user" pendingLabel="Creating…" resetOnSuccess>
              <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
                <TextField label="Email" name="email" type="email" required />
                <TextField label="Name" name="name" required />
                <SelectField label="Department" name="departmentId" options={[{ value: '', label: 'No department' }, ...departments.map((d) => ({ value: d.id, label: d.name }))]} />
                <SelectField label="Role" name="roleId" defaultValue={defaultRoleId(roles)} options={roles.map((role) => ({ value: role.id, label: role.name }))} />
              </div>
              <CheckboxField name="scopeRoleToDepartment" label="Grant the role only within the user’s department" hint="Without this the role applies across the whole organisation." />
            </ActionForm>
          </Section>
        ) : null}
        <UsersTable users={users} />
      </div>
    </>
  );
}
