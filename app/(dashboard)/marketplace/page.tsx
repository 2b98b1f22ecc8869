import type { Metadata } from 'next';
import Link from 'next/link';
import { INPUT, PRIMARY_BUTTON, SECONDARY_BUTTON } from '@/components/admin/styles';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { Stars } from '@/components/plugins/Stars';
import { Badge } from '@/components/table/Badge';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { db } from '@/lib/db/client';
import { CATEGORIES } from '@/lib/plugins/lifecycle';
import { listMarketplace, type MarketplaceSort } from '@/lib/plugins/marketplace';
import { holdsAnywhere } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Marketplace' };

const SORTS: { value: MarketplaceSort; label: string }[] = [
  { value: 'updated', label: 'Recently updated' },
  { value: 'rating', label: 'Highest rated' },
  { value: 'installs', label: 'Most installed' },
  { value: 'name', label: 'Name' },
];

function one(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

export default async function MarketplacePage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireDashboardUser('/marketplace');
  const principal = dashboardPrincipal(user);
  if (!(await holdsAnywhere(principal, 'plugins.install'))) return <AccessDenied permission="plugins.install" tenantWide={false} />;
  const params = await searchParams;
  const filters = { q: one(params.q), category: one(params.category), department: one(params.department), sort: (SORTS.find((sort) => sort.value === one(params.sort))?.value ?? 'updated') as MarketplaceSort };
  const [cards, departments, canPublish, canReview] = await Promise.all([
    listMarketplace(user.tenantId, filters),
    db().department.findMany({ where: { tenantId: user.tenantId }, orderBy: { name: 'asc' } }),
    holdsAnywhere(principal, 'plugins.publish'),
    holdsAnywhere(principal, 'plugins.review'),
  ]);

  return (
    <>
      <PageHeader title="Marketplace" description="Plugins your organisation reviewed and signed. Installing one sends it to Claude on your devices at the next sync.">
        <div className="flex gap-2">
          {canReview ? (
            <Link href="/plugins/review" className={SECONDARY_BUTTON}>
              Review queue
            </Link>
          ) : null}
          {canPublish ? (
            <Link href="/plugins/publish" className={PRIMARY_BUTTON}>
              Publish a plugin
            </Link>
          ) : null}
        </div>
      </PageHeader>
      <form role="search" aria-label="Filter plugins" method="get" className="mb-6 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-5">
        <input aria-label="Search plugins" name="q" defaultValue={filters.q} placeholder="Search by name or description" className={`${INPUT} sm:col-span-2`} />
        <select aria-label="Category" name="category" defaultValue={filters.category} className={INPUT}>
          <option value="">All categories</option>
          {CATEGORIES.map((category) => (
            <option key={category} value={category}>
              {category.charAt(0).toUpperCase() + category.slice(1)}
            </option>
          ))}
        </select>
        <select aria-label="Department" name="department" defaultValue={filters.department} className={INPUT}>
          <option value="">All departments</option>
          {departments.map((department) => (
            <option key={department.id} value={department.slug}>
              {department.name}
            </option>
          ))}
        </select>
        <div className="flex gap-2">
          <select aria-label="Sort by" name="sort" defaultValue={filters.sort} className={INPUT}>
            {SORTS.map((sort) => (
              <option key={sort.value} value={sort.value}>
                {sort.label}
              </option>
            ))}
          </select>
          <button type="submit" className={SECONDARY_BUTTON}>
            Apply
          </button>
        </div>
      </form>
      {cards.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center text-sm text-slate-600">
          {filters.q || filters.category || filters.department ? 'No plugin matches these filters.' : 'No approved plugins yet. Authors publish them; reviewers approve and sign them.'}
        </p>
      ) : (
        <ul aria-label="Plugins" className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {cards.map((card) => (
            <li key={card.name} className="flex flex-col rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
              <div className="flex items-start justify-between gap-2">
                <Link href={`/plugins/${card.name}`} className="text-base font-semibold text-indigo-700 hover:underline">
                  {card.displayName}
                </Link>
                <span className="font-mono text-xs text-slate-500">v{card.version}</span>
              </div>
              <p className="mt-2 line-clamp-3 flex-1 text-sm text-slate-600">{card.description}</p>
              <div className="mt-3 flex flex-wrap gap-1.5">
                <Badge tone="indigo">{card.category}</Badge>
                {card.department ? <Badge>{card.department}</Badge> : null}
                {card.brings.hooks ? <Badge tone="amber">hooks</Badge> : null}
                {card.brings.mcpServers ? <Badge tone="amber">MCP servers</Badge> : null}
                {card.forkedFrom ? <Badge>fork of {card.forkedFrom}</Badge> : null}
              </div>
              <div className="mt-3 flex items-center justify-between border-t border-slate-100 pt-3">
                <Stars value={card.rating} count={card.ratings} />
                <span className="text-xs text-slate-500">
                  {card.installs} install{card.installs === 1 ? '' : 's'}
                </span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
