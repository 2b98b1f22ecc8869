import Link from 'next/link';
import { Badge } from '@/components/table/Badge';
import type { StoredEventDetail, ViewedContent } from '@/lib/audit-query';
import { parseAttempts } from '@/lib/audit-query/attempts';
import { formatMicrodollars, formatUtcTimestamp } from '@/lib/dashboard/format';

export interface EventDrawerProps {
  detail: StoredEventDetail;
  /** The policy decision in words, e.g. "blocked: blocklist term `x`". */
  decision: string | null;
  closeHref: string;
  /** Where "Show prompt and completion" goes; null when the viewer may not read content. */
  contentHref: string | null;
  /** Loaded content, once asked for. */
  content: ViewedContent[] | null;
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[8rem_1fr] gap-2 py-1.5 text-sm">
      <dt className="text-slate-500">{label}</dt>
      <dd className="min-w-0 break-words text-slate-800">{children}</dd>
    </div>
  );
}

function cost(detail: StoredEventDetail): string | null {
  if (detail.row.costMicrodollars) return formatMicrodollars(BigInt(detail.row.costMicrodollars));
  const estimate = detail.event.attributes?.estimated_cost_microdollars;
  return typeof estimate === 'number' ? `${formatMicrodollars(estimate)} (estimate at admission)` : null;
}

/** The detail of one event beside the list: decision in words, failover path, cost, the JSON. */
export function EventDrawer({ detail, decision, closeHref, contentHref, content }: EventDrawerProps) {
  const { event, row } = detail;
  const attempts = parseAttempts(event.attributes?.attempts);
  const price = cost(detail);
  const refs = (event.content_refs ?? []).filter((ref) => ref.kind !== 'other');
  return (
    <aside
      role="dialog"
      aria-modal="false"
      aria-labelledby="event-drawer-title"
      className="fixed inset-y-0 right-0 z-30 flex w-full max-w-xl flex-col border-l border-slate-200 bg-white shadow-2xl"
    >
      <header className="flex items-start justify-between gap-3 border-b border-slate-200 px-5 py-4">
        <div className="min-w-0">
          <h2 id="event-drawer-title" className="text-lg font-semibold text-slate-900">
            {row.eventType} <span className="font-mono text-sm font-normal text-slate-500">{row.action}</span>
          </h2>
          <p className="text-sm text-slate-500">{formatUtcTimestamp(row.occurredAt)}</p>
        </div>
        <Link href={closeHref} scroll={false} className="rounded-md px-2 py-1 text-sm font-medium text-slate-600 ring-1 ring-slate-300 hover:bg-slate-50">
          Close
        </Link>
      </header>
      <div className="flex-1 space-y-5 overflow-y-auto px-5 py-4">
        {decision ? (
          <section aria-label="Policy decision" className={`rounded-md px-4 py-3 text-sm font-medium ${event.policy?.decision === 'redact' ? 'bg-amber-50 text-amber-900' : event.policy?.decision === 'allow' ? 'bg-emerald-50 text-emerald-900' : 'bg-rose-50 text-rose-900'}`}>
            <p data-testid="decision-words">{decision}</p>
            {event.policy?.reason ? <p className="mt-1 text-xs font-normal opacity-80">Reason recorded: {event.policy.reason}</p> : null}
          </section>
        ) : null}
        <dl className="divide-y divide-slate-100">
          <Field label="Outcome">
            <Badge tone={row.outcome === 'success' ? 'green' : row.outcome === 'failure' ? 'red' : row.outcome === 'denied' ? 'amber' : 'slate'}>{row.outcome}</Badge>
          </Field>
          <Field label="Actor">{row.actor ?? '—'}{row.department ? ` (${row.department})` : ''}</Field>
          {row.model ? <Field label="Model"><span className="font-mono text-xs">{row.model}</span></Field> : null}
          {event.policy?.rule ? <Field label="Rule"><span className="font-mono text-xs">{event.policy.rule}</span></Field> : null}
          {event.policy_version ? <Field label="Policy version"><span className="font-mono text-xs">{event.policy_version}</span></Field> : null}
          {row.upstream ? <Field label="Upstream"><span className="font-mono text-xs">{row.upstream}</span></Field> : null}
          {price ? <Field label="Cost">{price}</Field> : null}
          {event.error ? <Field label="Error">{`${event.error.type}${event.error.status ? ` (${event.error.status})` : ''}${event.error.message ? `: ${event.error.message}` : ''}`}</Field> : null}
          <Field label="Trace">
            <Link href={`/audit/traces/${row.traceId}`} className="font-mono text-xs text-indigo-700 underline-offset-2 hover:underline">
              {row.traceId}
            </Link>
          </Field>
          <Field label="Chain">seq {detail.seq}, recorded {formatUtcTimestamp(detail.recordedAt)}</Field>
        </dl>
        {attempts.length ? (
          <section>
            <h3 className="mb-2 text-sm font-semibold text-slate-900">Upstream path{attempts.length > 1 ? ' (failover)' : ''}</h3>
            <ol className="space-y-1 text-sm">
              {attempts.map((attempt, index) => (
                <li key={index} className="flex flex-wrap items-center gap-2">
                  <span className="text-slate-400">{index + 1}.</span>
                  <span className="font-mono text-xs">{attempt.target}</span>
                  <Badge tone={attempt.outcome === 'success' ? 'green' : 'red'}>{attempt.outcome}</Badge>
                  <span className="text-xs text-slate-500">
                    {attempt.status ? `HTTP ${attempt.status}` : 'no answer'}
                    {attempt.durationMs !== null ? `, ${attempt.durationMs} ms` : ''}
                  </span>
                </li>
              ))}
            </ol>
          </section>
        ) : null}
        {refs.length ? (
          <section>
            <h3 className="mb-2 text-sm font-semibold text-slate-900">Stored content</h3>
            {content ? (
              content.map((item) => (
                <div key={item.sha256} className="mb-3">
                  <p className="mb-1 text-xs text-slate-500">
                    {item.kind}, {item.byteSize} bytes{item.body === null ? ' — expired or purged' : ''}
                  </p>
                  {item.body !== null ? (
                    <pre className="max-h-80 overflow-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100">{typeof item.body === 'string' ? item.body : JSON.stringify(item.body, null, 2)}</pre>
                  ) : null}
                </div>
              ))
            ) : contentHref ? (
              <p className="text-sm">
                <Link href={contentHref} scroll={false} className="font-medium text-indigo-700 underline-offset-2 hover:underline">
                  Show {refs.map((ref) => ref.kind).join(' and ')}
                </Link>
                <span className="text-slate-500"> — your viewing is recorded in the audit log.</span>
              </p>
            ) : (
              <p className="text-sm text-slate-500">{refs.map((ref) => ref.kind).join(' and ')} stored; reading them needs the audit.content permission.</p>
            )}
          </section>
        ) : null}
        <section>
          <h3 className="mb-2 text-sm font-semibold text-slate-900">Event JSON</h3>
          <pre className="max-h-96 overflow-auto rounded-md bg-slate-50 p-3 text-xs text-slate-800 ring-1 ring-slate-200">{JSON.stringify(event, null, 2)}</pre>
        </section>
      </div>
    </aside>
  );
}
