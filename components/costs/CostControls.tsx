import Link from 'next/link';
import { INPUT, LABEL, PRIMARY_BUTTON, SECONDARY_BUTTON } from '@/components/admin/styles';
import { COST_GROUPS, COST_INTERVALS, costQueryParams, type CostQuery } from '@/lib/costs/query';

const GROUP_LABELS: Record<(typeof COST_GROUPS)[number], string> = {
  user: 'User',
  department: 'Department',
  model: 'Model',
  upstream: 'Upstream',
  route: 'Route',
  none: 'Nothing (totals)',
};

/** The view's range, bucket and breakdown as a plain GET form: every view is a shareable URL. */
export function CostControls({ query, userLabels }: { query: CostQuery; userLabels: Record<string, string> }) {
  const filters = Object.entries(query.filters).filter(([, value]) => value !== undefined) as [string, string][];
  return (
    <form method="get" action="/costs" className="mb-6 space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm" aria-label="Cost view">
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-6">
        <label className={LABEL}>
          From (UTC day)
          <input type="date" name="from" defaultValue={query.from} className={`${INPUT} mt-1`} required />
        </label>
        <label className={LABEL}>
          To (UTC day)
          <input type="date" name="to" defaultValue={query.to} className={`${INPUT} mt-1`} required />
        </label>
        <label className={LABEL}>
          Per
          <select name="interval" defaultValue={query.interval} className={`${INPUT} mt-1`}>
            {COST_INTERVALS.map((interval) => (
              <option key={interval} value={interval}>
                {interval}
              </option>
            ))}
          </select>
        </label>
        <label className={LABEL}>
          Break down by
          <select name="group_by" defaultValue={query.groupBy} className={`${INPUT} mt-1`}>
            {COST_GROUPS.map((group) => (
              <option key={group} value={group}>
                {GROUP_LABELS[group]}
              </option>
            ))}
          </select>
        </label>
        <div className="col-span-2 flex items-end gap-2">
          {filters.map(([name, value]) => (
            <input key={name} type="hidden" name={name} value={value} />
          ))}
          <button type="submit" className={PRIMARY_BUTTON}>
            Show
          </button>
          <a href={`/api/v1/costs/export?${costQueryParams(query, { format: 'csv' }).toString()}`} className={SECONDARY_BUTTON} data-action="export-csv" download>
            Export CSV
          </a>
        </div>
      </div>
      {filters.length ? (
        <p className="flex flex-wrap items-center gap-2 text-sm text-slate-600">
          Only:
          {filters.map(([name, value]) => (
            <Link
              key={name}
              href={`/costs?${costQueryParams(query, { [name]: undefined }).toString()}`}
              className="inline-flex items-center gap-1 rounded-full bg-indigo-50 px-2.5 py-0.5 text-xs font-medium text-indigo-800 ring-1 ring-indigo-200 hover:bg-indigo-100"
              title="Remove this filter"
            >
              {name}: {name === 'user' ? (userLabels[value] ?? value) : value} <span aria-hidden="true">×</span>
              <span className="sr-only">(remove)</span>
            </Link>
          ))}
        </p>
      ) : null}
    </form>
  );
}
