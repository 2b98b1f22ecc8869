import type { Metadata } from 'next';
import Link from 'next/link';
import { PageHeader } from '@/components/layout/PageHeader';
import { StatCard } from '@/components/overview/StatCard';
import { TrendCard, type TrendPoint } from '@/components/overview/TrendCard';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { formatCount, formatMicrodollars } from '@/lib/dashboard/format';
import { activityOverview, parseOverviewWindow, ratePercent, type ActivityOverview, type OverviewBucket, type OverviewWindow } from '@/lib/dashboard/overview';
import { currentPolicyStatus } from '@/lib/dashboard/policy';
import { authorize } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Overview' };

interface OverviewPageProps {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

const WINDOW_LABEL: Record<OverviewWindow, string> = { '24h': 'last 24 hours', '7d': 'last 7 days' };

function trend(overview: ActivityOverview, pick: (bucket: OverviewBucket) => number): TrendPoint[] {
  return overview.buckets.map((bucket) => ({ start: bucket.start, value: pick(bucket) }));
}

function WindowSwitch({ selected }: { selected: OverviewWindow }) {
  return (
    <nav aria-label="Period" className="inline-flex overflow-hidden rounded-md border border-slate-300 text-sm">
      {(Object.keys(WINDOW_LABEL) as OverviewWindow[]).map((choice) => (
        <Link
          key={choice}
          href={choice === '24h' ? '/' : `/?window=${choice}`}
          aria-current={choice === selected ? 'page' : undefined}
          className={`px-3 py-1.5 font-medium ${choice === selected ? 'bg-indigo-600 text-white' : 'bg-white text-slate-700 hover:bg-slate-50'}`}
        >
          {choice === '24h' ? '24 h' : '7 days'}
        </Link>
      ))}
    </nav>
  );
}

export default async function OverviewPage({ searchParams }: OverviewPageProps) {
  const period = parseOverviewWindow((await searchParams).window);
  const user = await requireDashboardUser(period === '24h' ? '/' : `/?window=${period}`);
  const principal = dashboardPrincipal(user);
  // Organisation-wide figures are the organisation's costs and activity: only tenant-wide
  // holders of costs.read (spend) / audit.read (activity) see them; everyone sees their own.
  const [seesCosts, seesActivity] = await Promise.all([authorize(principal, 'costs.read'), authorize(principal, 'audit.read')]);
  const [tenant, own] = await Promise.all([
    seesCosts || seesActivity ? activityOverview(user.tenantId, period) : null,
    activityOverview(user.tenantId, period, { userId: user.id }),
  ]);
  const policy = currentPolicyStatus();
  const policyHint = policy.problem
    ? `Configuration problem: ${policy.problem}`
    : policy.source === 'defaults'
      ? 'Built-in defaults (no gatehouse.yaml)'
      : 'From gatehouse.yaml';
  const bucketWord = period === '24h' ? 'per hour' : 'per 6 hours';

  return (
    <>
      <PageHeader title="Overview" description={`The ${WINDOW_LABEL[period]}, ${bucketWord}, in UTC (to the end of the current hour).`}>
        <WindowSwitch selected={period} />
      </PageHeader>
      <p className="mb-6 rounded-md border border-indigo-200 bg-indigo-50 px-4 py-3 text-sm text-indigo-900">
        Connecting Claude Desktop, Cowork or Claude Code, your skills, your budget and where you are signed in:{' '}
        <Link href="/connect" className="font-medium underline">
          Connect
        </Link>
        .
      </p>
      <section aria-labelledby="own-heading" className="mb-8">
        <h2 id="own-heading" className="mb-3 text-lg font-semibold text-slate-900">
          You
        </h2>
        <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <TrendCard id="my-requests" label="Your requests" value={formatCount(own.totals.requests)} hint="Your inference requests through the gateway" points={trend(own, (b) => b.requests)} unit="count" />
          <TrendCard id="my-spend" label="Your spend" value={formatMicrodollars(own.totals.spendMicrodollars)} hint="Provider cost of your calls" points={trend(own, (b) => b.spendMicrodollars / 1e6)} unit="usd" colour="#16a34a" />
          <StatCard id="policy-version" label="Policy version" value={policy.version ?? 'unavailable'} hint={policyHint} mono />
        </dl>
      </section>
      {tenant ? (
        <section aria-labelledby="org-heading">
          <h2 id="org-heading" className="mb-3 text-lg font-semibold text-slate-900">
            Organisation
          </h2>
          <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
            {seesActivity ? (
              <>
                <TrendCard id="requests" label="Requests" value={formatCount(tenant.totals.requests)} hint="Inference requests the gateway admitted" points={trend(tenant, (b) => b.requests)} unit="count" />
                <StatCard id="active-users" label="Active users" value={formatCount(tenant.totals.activeUsers)} hint={`People who made at least one request in the ${WINDOW_LABEL[period]}`} />
                <TrendCard
                  id="blocked-rate"
                  label="Blocked"
                  value={`${ratePercent(tenant.totals.blocked, tenant.totals.blocked + tenant.totals.requests)} %`}
                  hint={`${formatCount(tenant.totals.blocked)} requests refused by policy, of ${formatCount(tenant.totals.blocked + tenant.totals.requests)}`}
                  points={trend(tenant, (b) => ratePercent(b.blocked, b.blocked + b.requests))}
                  unit="percent"
                  colour="#ca8a04"
                />
                <TrendCard
                  id="error-rate"
                  label="Errors"
                  value={`${ratePercent(tenant.totals.errors, tenant.totals.responses)} %`}
                  hint={`${formatCount(tenant.totals.errors)} failed calls, of ${formatCount(tenant.totals.responses)} answered`}
                  points={trend(tenant, (b) => ratePercent(b.errors, b.responses))}
                  unit="percent"
                  colour="#dc2626"
                />
                <StatCard id="audit-events" label="Audit events" value={formatCount(tenant.totals.auditEvents)} hint="Everything recorded, every kind" />
              </>
            ) : null}
            {seesCosts ? (
              <TrendCard id="spend" label="Spend" value={formatMicrodollars(tenant.totals.spendMicrodollars)} hint="Provider cost, organisation-wide (see Costs)" points={trend(tenant, (b) => b.spendMicrodollars / 1e6)} unit="usd" colour="#16a34a" />
            ) : null}
          </dl>
        </section>
      ) : null}
    </>
  );
}
