import type { Metadata } from 'next';
import { ActionForm } from '@/components/admin/ActionForm';
import { TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { DepartmentsTable } from '@/components/departments/DepartmentsTable';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { listDepartments } from '@/lib/admin/departments';
import { dashboardActor } from '@/lib/admin/run-action';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { authorize, holdsAnywhere } from '@/lib/rbac/authorize';
import { createDepartmentAction, renameDepartmentAction } from './actions';

export const metadata: Metadata = { title: 'Departments' };

export default async function DepartmentsPage() {
  const user = await requireDashboardUser('/departments');
  const principal = dashboardPrincipal(user);
  if (!(await holdsAnywhere(principal, 'users.read'))) return <AccessDenied permission="users.read" tenantWide={false} />;
  const [departments, canManage] = await Promise.all([listDepartments(dashboardActor(user)), authorize(principal, 'users.admin')]);

  return (
    <>
      <PageHeader
        title="Departments"
        description="Departments group users for routing, budgets and department-scoped roles. A department’s slug is fixed when it is created, so renaming never breaks the policies and SSO maps that name it."
      />
      <div className="space-y-6">
        {canManage ? (
          <Section title="Add department">
            <ActionForm action={createDepartmentAction} label="Add department" submitLabel="Create department" pendingLabel="Creating…" resetOnSuccess inline>
              <div className="w-full max-w-sm">
                <TextField label="Department name" name="name" required placeholder="Research" />
              </div>
            </ActionForm>
          </Section>
        ) : null}
        <DepartmentsTable departments={departments} renameAction={canManage ? renameDepartmentAction : undefined} />
      </div>
    </>
  );
}
