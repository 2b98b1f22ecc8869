import type { Metadata } from 'next';
import { AuditTable } from '@/components/audit/AuditTable';
import { EventTypeFilter } from '@/components/audit/EventTypeFilter';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { AUDIT_EVENT_TYPES } from '@/lib/audit';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { AUDIT_LOG_PAGE_SIZE, latestAuditEvents, parseEventTypeFilter } from '@/lib/dashboard/audit-log';
import { authorize } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Audit log' };

interface AuditPageProps {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

export default async function AuditPage({ searchParams }: AuditPageProps) {
  const eventType = parseEventTypeFilter((await searchParams).type);
  const user = await requireDashboardUser(eventType ? `/audit?type=${encodeURIComponent(eventType)}` : '/audit');
  // The log spans the whole tenant, so only a tenant-wide grant opens it.
  if (!(await authorize(dashboardPrincipal(user), 'audit.read'))) return <AccessDenied permission="audit.read" />;
  const events = await latestAuditEvents(user.tenantId, eventType);
  return (
    <>
      <PageHeader
        title="Audit log"
        description={`The latest ${AUDIT_LOG_PAGE_SIZE} events${eventType ? ` of type ${eventType}` : ''}, newest first. Times are UTC.`}
      >
        <EventTypeFilter types={AUDIT_EVENT_TYPES} selected={eventType} />
      </PageHeader>
      <AuditTable events={events} eventType={eventType} />
    </>
  );
}
