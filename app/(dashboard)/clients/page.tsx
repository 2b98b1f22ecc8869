import type { Metadata } from 'next';
import { ClientsTable } from '@/components/clients/ClientsTable';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { listManagedClients } from '@/lib/admin/clients';
import { dashboardActor } from '@/lib/admin/run-action';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { authorize } from '@/lib/rbac/authorize';
import { setClientStatusAction } from './actions';

export const metadata: Metadata = { title: 'OAuth clients' };

export default async function ClientsPage() {
  const user = await requireDashboardUser('/clients');
  if (!(await authorize(dashboardPrincipal(user), 'policy.admin'))) return <AccessDenied permission="policy.admin" />;
  const clients = await listManagedClients(dashboardActor(user));
  const dynamic = clients.filter((client) => client.registeredVia === 'dynamic').length;
  return (
    <>
      <PageHeader
        title="OAuth clients"
        description={`${clients.length} ${clients.length === 1 ? 'application' : 'applications'} may ask users to sign in, ${dynamic} of them registered dynamically. Claude Code’s device sign-in needs no client here. Disabling a client ends its sign-ins.`}
      />
      <ClientsTable clients={clients} statusAction={setClientStatusAction} />
    </>
  );
}
