'use client';

import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { Badge, type BadgeTone } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import type { AuditRow } from '@/lib/audit-query/repository';
import { formatMicrodollars, formatUtcTimestamp } from '@/lib/dashboard/format';

const OUTCOME_TONES: Record<string, BadgeTone> = { success: 'green', failure: 'red', denied: 'amber', unknown: 'slate' };
const DECISION_TONES: Record<string, BadgeTone> = { block: 'red', deny: 'red', redact: 'amber', allow: 'green', ask: 'indigo' };
const none = <span className="text-slate-400">—</span>;

function columns(detailHref: (eventId: string) => string): ColumnDef<AuditRow>[] {
  const list: ColumnDef<AuditRow>[] = [
    {
      accessorKey: 'occurredAt',
      header: 'Time',
      cell: ({ row }) => (
        <Link href={detailHref(row.original.eventId)} scroll={false} className="font-medium text-indigo-700 underline-offset-2 hover:underline">
          <time dateTime={row.original.occurredAt} className="tabular-nums">
            {formatUtcTimestamp(row.original.occurredAt)}
          </time>
        </Link>
      ),
    },
    { accessorKey: 'eventType', header: 'Type', cell: ({ row }) => <span className="font-mono text-xs">{row.original.eventType}</span> },
    { accessorKey: 'action', header: 'Action', cell: ({ row }) => <span className="font-mono text-xs">{row.original.action}</span> },
    { accessorKey: 'outcome', header: 'Outcome', cell: ({ row }) => <Badge tone={OUTCOME_TONES[row.original.outcome] ?? 'slate'}>{row.original.outcome}</Badge> },
    { id: 'actor', header: 'Actor', cell: ({ row }) => row.original.actor ?? none },
    { id: 'model', header: 'Model', cell: ({ row }) => (row.original.model ? <span className="font-mono text-xs">{row.original.model}</span> : none) },
    {
      id: 'policy',
      header: 'Policy',
      cell: ({ row }) =>
        row.original.decision ? (
          <span className="flex items-center gap-2">
            <Badge tone={DECISION_TONES[row.original.decision] ?? 'slate'}>{row.original.decision}</Badge>
            {row.original.rule ? <span className="font-mono text-xs text-slate-600">{row.original.rule}</span> : null}
          </span>
        ) : (
          none
        ),
    },
    {
      id: 'cost',
      header: 'Cost',
      cell: ({ row }) => (row.original.costMicrodollars ? <span className="tabular-nums">{formatMicrodollars(BigInt(row.original.costMicrodollars))}</span> : none),
    },
    {
      id: 'trace',
      header: 'Trace',
      cell: ({ row }) => (
        <Link href={`/audit/traces/${row.original.traceId}`} title={row.original.traceId} className="font-mono text-xs text-slate-500 underline-offset-2 hover:text-indigo-700 hover:underline">
          {row.original.traceId.slice(0, 12)}…
        </Link>
      ),
    },
  ];
  // Pages come from the server in time order; sorting one page in the browser would mislead.
  return list.map((column) => ({ ...column, enableSorting: false }));
}

/** One server-side page of events; `query` is the filters' query string, kept by the detail links. */
export function AuditTable({ events, query, filtered }: { events: AuditRow[]; query: string; filtered: boolean }) {
  const detailHref = (eventId: string) => `/audit?${query ? `${query}&` : ''}event=${eventId}`;
  return (
    <DataTable
      caption="Audit events, newest first"
      data={events}
      columns={columns(detailHref)}
      getRowId={(event) => event.eventId}
      emptyMessage={filtered ? 'No events match these filters in this time range. Widen the range or clear a filter.' : 'No audit events in this time range.'}
    />
  );
}
