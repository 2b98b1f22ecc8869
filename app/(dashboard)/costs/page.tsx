import type { Metadata } from 'next';
import { CostBreakdownTable } from '@/components/costs/CostBreakdownTable';
import { CostChart } from '@/components/costs/CostChart';
import { CostControls } from '@/components/costs/CostControls';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { StatCard } from '@/components/overview/StatCard';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { explorerHref } from '@/lib/costs/drilldown';
import { CostQueryError, costQueryParams, parseCostQuery, type CostQuery } from '@/lib/costs/query';
import { loadCostView, OTHER_KEY, type CostBreakdownRow } from '@/lib/costs/view';
import { formatCount, formatMicrodollars, formatUtcTimestamp } from '@/lib/dashboard/format';
import { authorize } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Costs' };

interface CostsPageProps {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

const DIMENSION_LABEL = { user: 'User', department: 'Department', model: 'Model', upstream: 'Upstream', route: 'Route', none: 'Total' } as const;

function rowLinks(query: CostQuery, rows: CostBreakdownRow[], group: CostQuery['groupBy']): Record<string, { filter?: string; requests: string }> {
  return Object.fromEntries(
    rows.map((row) => [
      row.key,
      {
        // Narrowing to a value already filtered on, or to "none recorded", adds nothing.
        ...(group !== 'none' && row.key !== '' && !query.filters[group] ? { filter: `/costs?${costQueryParams(query, { [group]: row.key }).toString()}` } : {}),
        requests: explorerHref({ from: query.from, to: query.to, filters: query.filters, group: { by: group, key: row.key } }),
      },
    ]),
  );
}

export default async function CostsPage({ searchParams }: CostsPageProps) {
  const params = await searchParams;
  const search = new URLSearchParams(Object.entries(params).flatMap(([key, value]) => (typeof value === 'string' ? [[key, value]] : [])));
  const user = await requireDashboardUser(search.size ? `/costs?${search.toString()}` : '/costs');
  // The organisation's spend: a tenant-wide grant only.
  if (!(await authorize(dashboardPrincipal(user), 'costs.read'))) return <AccessDenied permission="costs.read" />;

  let query: CostQuery;
  let problem: string | null = null;
  try {
    query = parseCostQuery(params);
  } catch (error) {
    if (!(error instanceof CostQueryError)) throw error;
    problem = error.message;
    query = parseCostQuery({});
  }
  const view = await loadCostView(user.tenantId, query);
  const userLabels = Object.fromEntries(view.topSpenders.map((row) => [row.key, row.label]));
  if (query.groupBy === 'user') for (const row of view.breakdown) userLabels[row.key] = row.label;

  return (
    <>
      <PageHeader
        title="Costs"
        description={`Spend, tokens and requests through the gateway, ${query.from} to ${query.to}. Days are UTC days (00:00–24:00 UTC), whatever your time zone. ${
          view.lastRollupAt ? `Rolled up from the ledger at ${formatUtcTimestamp(view.lastRollupAt)}; at most a few minutes behind.` : 'Not rolled up yet: the worker does it within two minutes of starting.'
        }`}
      />
      {problem ? (
        <p role="alert" className="mb-4 rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900">
          That view could not be shown ({problem}); showing the last 30 days instead.
        </p>
      ) : null}
      <CostControls query={query} userLabels={userLabels} />
      <dl className="mb-6 grid grid-cols-2 gap-4 lg:grid-cols-4">
        <StatCard id="cost-total" label="Spend" value={formatMicrodollars(BigInt(view.totals.costMicrodollars))} hint="Provider cost, as the ledger billed it" />
        <StatCard id="cost-requests" label="Requests" value={formatCount(view.totals.requests)} hint="Calls the upstream answered" />
        <StatCard id="cost-tokens" label="Tokens" value={formatCount(Number(view.totals.tokens))} hint="Input, output and cache writes" />
        <StatCard id="cost-estimated" label="Estimated" value={formatCount(view.totals.estimatedRequests)} hint="Requests priced from an estimate" />
      </dl>
      <section className="mb-8">
        <CostChart points={view.points} groups={view.groups} otherKey={OTHER_KEY} view={{ from: query.from, to: query.to, interval: query.interval, groupBy: query.groupBy, filters: query.filters as Record<string, string> }} />
      </section>
      <section className="mb-8" aria-labelledby="breakdown-heading">
        <h2 id="breakdown-heading" className="mb-3 text-lg font-semibold text-slate-900">
          By {DIMENSION_LABEL[query.groupBy].toLowerCase()}
        </h2>
        <CostBreakdownTable caption={`Spend by ${query.groupBy}`} dimension={DIMENSION_LABEL[query.groupBy]} rows={view.breakdown} links={rowLinks(query, view.breakdown, query.groupBy)} searchLabel="Search" />
      </section>
      <section aria-labelledby="spenders-heading">
        <h2 id="spenders-heading" className="mb-3 text-lg font-semibold text-slate-900">
          Top spenders
        </h2>
        <CostBreakdownTable caption="Top spenders" dimension="User" rows={view.topSpenders} links={rowLinks(query, view.topSpenders, 'user')} />
      </section>
    </>
  );
}
