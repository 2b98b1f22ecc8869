'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { Badge, type BadgeTone } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import type { AuditLogRow } from '@/lib/dashboard/audit-log';
import { formatUtcTimestamp } from '@/lib/dashboard/format';

const OUTCOME_TONES: Record<string, BadgeTone> = { success: 'green', failure: 'red', denied: 'amber', unknown: 'slate' };

const columns: ColumnDef<AuditLogRow>[] = [
  {
    accessorKey: 'occurredAt',
    header: 'Time',
    cell: ({ row }) => <time dateTime={row.original.occurredAt} className="tabular-nums">{formatUtcTimestamp(row.original.occurredAt)}</time>,
  },
  { accessorKey: 'eventType', header: 'Type', cell: ({ row }) => <span className="font-mono text-xs">{row.original.eventType}</span> },
  { accessorKey: 'action', header: 'Action', cell: ({ row }) => <span className="font-mono text-xs">{row.original.action}</span> },
  {
    accessorKey: 'outcome',
    header: 'Outcome',
    cell: ({ row }) => <Badge tone={OUTCOME_TONES[row.original.outcome] ?? 'slate'}>{row.original.outcome}</Badge>,
  },
  {
    id: 'actor',
    accessorFn: (event) => event.actor ?? '',
    header: 'Actor',
    cell: ({ row }) => row.original.actor ?? <span className="text-slate-400">—</span>,
  },
  {
    accessorKey: 'traceId',
    header: 'Trace ID',
    enableSorting: false,
    cell: ({ row }) => (
      <span className="font-mono text-xs text-slate-500" title={row.original.traceId}>
        {row.original.traceId}
      </span>
    ),
  },
];

/** `eventType`: the filter in force, so an empty page says why it is empty. */
export function AuditTable({ events, eventType }: { events: AuditLogRow[]; eventType?: string }) {
  return (
    <DataTable
      caption="Latest audit events"
      data={events}
      columns={columns}
      getRowId={(event) => event.eventId}
      searchLabel="Search these events"
      emptyMessage={eventType ? `No ${eventType} events recorded yet. Clear the filter to see every event.` : 'No audit events recorded yet.'}
    />
  );
}
