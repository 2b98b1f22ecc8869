import type { Metadata } from 'next';
import { PageHeader } from '@/components/layout/PageHeader';
import { StatCard } from '@/components/overview/StatCard';
import { requireDashboardUser } from '@/lib/auth/session';
import { formatCount, formatMicrodollars } from '@/lib/dashboard/format';
import { overviewStats } from '@/lib/dashboard/overview';
import { currentPolicyStatus } from '@/lib/dashboard/policy';

export const metadata: Metadata = { title: 'Overview' };

export default async function OverviewPage() {
  const user = await requireDashboardUser('/');
  const stats = await overviewStats(user.tenantId);
  const policy = currentPolicyStatus();
  const policyHint = policy.problem
    ? `Configuration problem: ${policy.problem}`
    : policy.source === 'defaults'
      ? 'Built-in defaults (no gatehouse.yaml)'
      : 'From gatehouse.yaml';
  return (
    <>
      <PageHeader title="Overview" description="Today so far, counted from 00:00 UTC." />
      <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-5">
        <StatCard id="active-users" label="Active users" value={formatCount(stats.activeUsers)} />
        <StatCard id="requests-today" label="Requests today" value={formatCount(stats.requestsToday)} hint="Inference requests through the gateway" />
        <StatCard id="spend-today" label="Spend today" value={formatMicrodollars(stats.spendTodayMicrodollars)} hint="Provider cost of today’s responses" />
        <StatCard id="audit-events-today" label="Audit events today" value={formatCount(stats.auditEventsToday)} />
        <StatCard id="policy-version" label="Policy version" value={policy.version ?? 'unavailable'} hint={policyHint} mono />
      </dl>
    </>
  );
}
