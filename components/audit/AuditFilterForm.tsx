import Link from 'next/link';
import { AUDIT_EVENT_TYPES, AUDIT_OUTCOMES } from '@/lib/audit';

/** The filters as the form shows them: what the query string said, times as typed. */
export interface FilterFormValues {
  from?: string;
  to?: string;
  user?: string;
  department?: string;
  model?: string;
  upstream?: string;
  type?: string;
  outcome?: string;
  rule?: string;
  trace?: string;
  q?: string;
}

const INPUT =
  'rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-normal shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30';
const LABEL = 'flex min-w-0 flex-col gap-1 text-sm font-medium text-slate-700';

function Text({ name, label, value, placeholder }: { name: keyof FilterFormValues; label: string; value?: string; placeholder?: string }) {
  return (
    <label className={LABEL}>
      {label}
      <input type="text" name={name} defaultValue={value ?? ''} placeholder={placeholder} className={INPUT} />
    </label>
  );
}

function Choice({ name, label, value, options, any }: { name: keyof FilterFormValues; label: string; value?: string; options: readonly string[]; any: string }) {
  return (
    <label className={LABEL}>
      {label}
      <select name={name} defaultValue={value ?? ''} className={INPUT}>
        <option value="">{any}</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * A plain GET form: every filter lives in the query string, so a filtered view is a link others
 * can open (the costs page links here with the same parameters). Filtering happens on the server.
 */
export function AuditFilterForm({ values }: { values: FilterFormValues }) {
  return (
    <form method="get" action="/audit" aria-label="Filter audit events" className="mb-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4 xl:grid-cols-6">
        <Text name="from" label="From (UTC)" value={values.from} placeholder="24h, 2026-11-20, ISO time" />
        <Text name="to" label="To (UTC)" value={values.to} placeholder="now" />
        <Choice name="type" label="Event type" value={values.type} options={AUDIT_EVENT_TYPES} any="All types" />
        <Choice name="outcome" label="Outcome" value={values.outcome} options={AUDIT_OUTCOMES} any="Any outcome" />
        <Text name="user" label="User" value={values.user} placeholder="e-mail or id" />
        <Text name="department" label="Department" value={values.department} />
        <Text name="model" label="Model" value={values.model} placeholder="claude-sonnet-4-5" />
        <Text name="upstream" label="Upstream" value={values.upstream} placeholder="anthropic/claude-…" />
        <Text name="rule" label="Rule" value={values.rule} placeholder="policy.secrets.*" />
        <Text name="trace" label="Trace ID" value={values.trace} />
        <div className="sm:col-span-2">
          <Text name="q" label="Search" value={values.q} placeholder="id, action, rule, model or e-mail (start of)" />
        </div>
      </div>
      <div className="mt-3 flex items-center gap-3">
        <button
          type="submit"
          className="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2"
        >
          Apply filters
        </button>
        <Link href="/audit" className="px-2 py-2 text-sm font-medium text-slate-600 underline-offset-2 hover:underline">
          Clear
        </Link>
      </div>
    </form>
  );
}
