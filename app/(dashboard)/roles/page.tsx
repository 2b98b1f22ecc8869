import type { Metadata } from 'next';
import Link from 'next/link';
import { PRIMARY_BUTTON } from '@/components/admin/styles';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { RolesTable } from '@/components/roles/RolesTable';
import { listRoles } from '@/lib/admin/roles';
import { dashboardActor } from '@/lib/admin/run-action';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { authorize, holdsAnywhere } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Roles' };

export default async function RolesPage() {
  const user = await requireDashboardUser('/roles');
  const principal = dashboardPrincipal(user);
  if (!(await holdsAnywhere(principal, 'users.read'))) return <AccessDenied permission="users.read" tenantWide={false} />;
  const [roles, canManage] = await Promise.all([listRoles(dashboardActor(user)), authorize(principal, 'users.admin')]);
  return (
    <>
      <PageHeader title="Roles" description="A role is a set of permissions. Built-in roles follow Gatehouse’s catalogue and cannot be changed; custom roles are yours to define.">
        {canManage ? (
          <Link href="/roles/new" className={PRIMARY_BUTTON}>
            New role
          </Link>
        ) : null}
      </PageHeader>
      <RolesTable roles={roles} />
    </>
  );
}
