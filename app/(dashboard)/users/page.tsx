import type { Metadata } from 'next';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { UsersTable } from '@/components/users/UsersTable';
import { hasPermission, requireDashboardUser } from '@/lib/auth/session';
import { listTenantUsers } from '@/lib/dashboard/users';

export const metadata: Metadata = { title: 'Users' };

export default async function UsersPage() {
  const user = await requireDashboardUser('/users');
  if (!hasPermission(user, 'users.read')) return <AccessDenied permission="users.read" />;
  const users = await listTenantUsers(user.tenantId);
  const active = users.filter((row) => row.status === 'active').length;
  return (
    <>
      <PageHeader title="Users" description={`${users.length} ${users.length === 1 ? 'user' : 'users'}, ${active} active. Read-only here; manage users with the “gatehouse users” command.`} />
      <UsersTable users={users} />
    </>
  );
}
