import type { Metadata } from 'next';
import Link from 'next/link';
import { PageHeader } from '@/components/layout/PageHeader';
import { StatCard } from '@/components/overview/StatCard';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { formatCount, formatMicrodollars } from '@/lib/dashboard/format';
import { personalOverview, tenantOverview } from '@/lib/dashboard/overview';
import { currentPolicyStatus } from '@/lib/dashboard/policy';
import { authorize } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Overview' };

export default async function OverviewPage() {
  const user = await requireDashboardUser('/');
  const principal = dashboardPrincipal(user);
  // Organisation-wide figures are the organisation's costs and activity: only tenant-wide
  // holders of costs.read / audit.read see them; everyone sees their own.
  const [seesCosts, seesActivity] = await Promise.all([authorize(principal, 'costs.read'), authorize(principal, 'audit.read')]);
  const [tenant, own] = await Promise.all([seesCosts || seesActivity ? tenantOverview(user.tenantId) : null, personalOverview(user.tenantId, user.id)]);
  const policy = currentPolicyStatus();
  const policyHint = policy.problem
    ? `Configuration problem: ${policy.problem}`
    : policy.source === 'defaults'
      ? 'Built-in defaults (no gatehouse.yaml)'
      : 'From gatehouse.yaml';
  return (
    <>
      <PageHeader title="Overview" description="Today so far, counted from 00:00 UTC." />
      <p className="mb-6 rounded-md border border-indigo-200 bg-indigo-50 px-4 py-3 text-sm text-indigo-900">
        Connecting Claude Desktop, Cowork or Claude Code, your skills, your budget and where you are signed in:{' '}
        <Link href="/connect" className="font-medium underline">
          Connect
        </Link>
        .
      </p>
      <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-5">
        <StatCard id="my-requests-today" label="Your requests today" value={formatCount(own.requestsToday)} hint="Your inference requests through the gateway" />
        <StatCard id="my-spend-today" label="Your spend today" value={formatMicrodollars(own.spendTodayMicrodollars)} hint="Provider cost of your responses" />
        {tenant && seesActivity ? (
          <>
            <StatCard id="active-users" label="Active users today" value={formatCount(tenant.activeUsers)} hint="People who used a model or signed in" />
            <StatCard id="requests-today" label="Requests today" value={formatCount(tenant.requestsToday)} hint="Inference requests through the gateway" />
          </>
        ) : null}
        {tenant && seesCosts ? <StatCard id="spend-today" label="Spend today" value={formatMicrodollars(tenant.spendTodayMicrodollars)} hint="Provider cost of today’s responses, organisation-wide" /> : null}
        {tenant && seesActivity ? <StatCard id="audit-events-today" label="Audit events today" value={formatCount(tenant.auditEventsToday)} /> : null}
        <StatCard id="policy-version" label="Policy version" value={policy.version ?? 'unavailable'} hint={policyHint} mono />
      </dl>
    </>
  );
}
