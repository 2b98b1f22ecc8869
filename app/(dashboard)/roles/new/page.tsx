import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/admin/ActionForm';
import { TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { PermissionCheckboxes } from '@/components/roles/PermissionCheckboxes';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { authorize } from '@/lib/rbac/authorize';
import { createRoleAction } from '../actions';

export const metadata: Metadata = { title: 'New role' };

export default async function NewRolePage() {
  const user = await requireDashboardUser('/roles/new');
  if (!(await authorize(dashboardPrincipal(user), 'users.admin'))) return <AccessDenied permission="users.admin" />;
  return (
    <>
      <Link href="/roles" className="text-sm font-medium text-slate-600 underline-offset-2 hover:underline">
        ← All roles
      </Link>
      <PageHeader title="New role" description="Grant it to people on their user page, everywhere or only within a department." />
      <Section title="Definition">
        <ActionForm action={createRoleAction} label="New role" submitLabel="Create role" pendingLabel="Creating…">
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField label="Name" name="name" required placeholder="reviewer" hint="Lowercase letters, digits, - and _. SSO role maps refer to roles by this name." />
            <TextField label="Description" name="description" placeholder="Reviews plugins before they are published" />
          </div>
          <PermissionCheckboxes />
        </ActionForm>
      </Section>
    </>
  );
}
