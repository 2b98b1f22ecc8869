import type { Metadata } from 'next';
import Link from 'next/link';
import { AuditFilterForm, type FilterFormValues } from '@/components/audit/AuditFilterForm';
import { AuditTable } from '@/components/audit/AuditTable';
import { EventDrawer } from '@/components/audit/EventDrawer';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import {
  AuditFilterError,
  FILTER_PARAMS,
  auditPage,
  decodeCursor,
  describeDecision,
  encodeCursor,
  filterParams,
  loadAuditEventDetail,
  parseAuditFilters,
  policyForVersion,
  viewEventContent,
  type AuditFilters,
  type ViewedContent,
} from '@/lib/audit-query';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { formatUtcTimestamp } from '@/lib/dashboard/format';
import { authorize } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Audit log' };

const PAGE_SIZE = 50;

type SearchParams = Record<string, string | string[] | undefined>;

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The filters exactly as given, for the form and for links that keep them. */
function givenFilters(params: SearchParams): { values: FilterFormValues; query: URLSearchParams } {
  const values: FilterFormValues = {};
  const query = new URLSearchParams();
  for (const name of FILTER_PARAMS) {
    const value = one(params[name])?.trim();
    if (!value) continue;
    values[name] = value;
    query.set(name, value);
  }
  return { values, query };
}

function describeRange(filters: AuditFilters): string {
  return `${formatUtcTimestamp(filters.from.toISOString())} to ${formatUtcTimestamp(filters.to.toISOString())}`;
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const params = await searchParams;
  const { values, query } = givenFilters(params);
  const user = await requireDashboardUser(`/audit${query.size ? `?${query}` : ''}`);
  const principal = dashboardPrincipal(user);
  // The log spans the whole tenant, so only a tenant-wide grant opens it.
  if (!(await authorize(principal, 'audit.read'))) return <AccessDenied permission="audit.read" />;

  let filters: AuditFilters;
  try {
    filters = parseAuditFilters(values);
  } catch (error) {
    if (!(error instanceof AuditFilterError)) throw error;
    return (
      <>
        <PageHeader title="Audit log" description="Every recorded event, filtered on the server. Times are UTC." />
        <AuditFilterForm values={values} />
        <p role="alert" className="rounded-md bg-rose-50 px-4 py-3 text-sm text-rose-800">
          {error.message}
        </p>
      </>
    );
  }

  const after = decodeCursor(one(params.after));
  const page = await auditPage(user.tenantId, { filters, after, limit: PAGE_SIZE });
  const queryText = query.toString();
  const nextHref = page.more ? `/audit?${new URLSearchParams([...query, ['after', encodeCursor(page.rows.at(-1)!)]])}` : null;
  // Relative times ("24h") move with the clock: the page's links keep them relative on purpose.
  const pageQuery = after ? `${queryText ? `${queryText}&` : ''}after=${encodeURIComponent(one(params.after)!)}` : queryText;

  const eventId = one(params.event);
  const detail = eventId ? await loadAuditEventDetail(user.tenantId, eventId) : null;
  let drawer = null;
  if (detail) {
    const canReadContent = await authorize(principal, 'audit.content');
    const wantsContent = one(params.content) === '1';
    let content: ViewedContent[] | null = null;
    if (wantsContent && canReadContent) {
      content = await viewEventContent({ userId: user.id, tenantId: user.tenantId, email: user.email, roles: user.roles }, detail.event);
    }
    const policy = detail.event.policy ? await policyForVersion(user.tenantId, detail.event.policy_version) : null;
    const base = `/audit?${pageQuery ? `${pageQuery}&` : ''}event=${detail.row.eventId}`;
    drawer = (
      <EventDrawer
        detail={detail}
        decision={describeDecision(detail.event, policy)}
        closeHref={`/audit${pageQuery ? `?${pageQuery}` : ''}`}
        contentHref={canReadContent ? `${base}&content=1` : null}
        content={content}
      />
    );
  }

  const filtered = FILTER_PARAMS.some((name) => name !== 'from' && name !== 'to' && values[name]);
  return (
    <>
      <PageHeader title="Audit log" description={`Events from ${describeRange(filters)}, newest first, ${PAGE_SIZE} a page. Open a row for its detail.`}>
        <div className="flex gap-3 text-sm">
          {(['csv', 'ndjson'] as const).map((format) => (
            <a
              key={format}
              href={`/api/v1/audit/export?${new URLSearchParams([['format', format], ...filterParams(filters)])}`}
              className="rounded-md px-3 py-2 font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50"
            >
              Export {format.toUpperCase()}
            </a>
          ))}
        </div>
      </PageHeader>
      <AuditFilterForm values={values} />
      <AuditTable events={page.rows} query={pageQuery} filtered={filtered} />
      <nav aria-label="Pages" className="mt-4 flex items-center gap-4 text-sm">
        {after ? (
          <Link href={`/audit${queryText ? `?${queryText}` : ''}`} className="font-medium text-indigo-700 underline-offset-2 hover:underline">
            Newest
          </Link>
        ) : null}
        {nextHref ? (
          <Link href={nextHref} className="font-medium text-indigo-700 underline-offset-2 hover:underline">
            Older events →
          </Link>
        ) : (
          <span className="text-slate-500">{page.rows.length ? 'End of the range.' : ''}</span>
        )}
      </nav>
      {eventId && !detail ? (
        <p role="alert" className="mt-4 rounded-md bg-amber-50 px-4 py-3 text-sm text-amber-900">
          No event {eventId} in this tenant.
        </p>
      ) : null}
      {drawer}
    </>
  );
}
