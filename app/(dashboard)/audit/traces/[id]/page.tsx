import type { Metadata } from 'next';
import Link from 'next/link';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { TraceTimeline } from '@/components/audit/TraceTimeline';
import { policyForVersion, traceLineage, traceTimeline } from '@/lib/audit-query';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import type { PolicyConfig } from '@/lib/config';
import { authorize } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Trace' };

export default async function TracePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const traceId = id.toLowerCase();
  const user = await requireDashboardUser(`/audit/traces/${encodeURIComponent(id)}`);
  if (!(await authorize(dashboardPrincipal(user), 'audit.read'))) return <AccessDenied permission="audit.read" />;
  const entries = await traceLineage(user.tenantId, traceId);
  const versions = [...new Set(entries.filter((entry) => entry.event.policy && entry.event.policy_version).map((entry) => entry.event.policy_version!))];
  const policies = new Map<string, PolicyConfig | null>(await Promise.all(versions.map(async (version) => [version, await policyForVersion(user.tenantId, version)] as const)));
  const steps = traceTimeline(entries, policies);
  return (
    <>
      <PageHeader title="Trace" description={`Everything recorded under trace ${traceId}, in order. Times are UTC.`}>
        <Link href={`/audit?trace=${traceId}&from=93d`} className="text-sm font-medium text-indigo-700 underline-offset-2 hover:underline">
          These events in the explorer
        </Link>
      </PageHeader>
      {steps.length === 0 ? (
        <p className="rounded-md bg-slate-50 px-4 py-6 text-sm text-slate-600">No events recorded under this trace id in this tenant.</p>
      ) : (
        <TraceTimeline steps={steps} traceId={traceId} />
      )}
    </>
  );
}
