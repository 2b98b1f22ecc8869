'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { DataTable } from '@/components/table/DataTable';
import type { ClientVersusGateway } from '@/lib/client-telemetry';
import { formatCount, formatMicrodollars } from '@/lib/dashboard/format';

/** One user's figures as the table shows them. */
export type ClientTelemetryRow = ClientVersusGateway;

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function pair(client: string, gateway: string) {
  return (
    <span className="tabular-nums">
      {client}
      <span className="block text-xs text-slate-500">gateway {gateway}</span>
    </span>
  );
}

/**
 * What Claude Code reported about each user's use beside what the gateway recorded for them. The
 * two differ for good reasons (requests that did not go through the gateway, cache tokens priced
 * differently, exports still in flight); a large gap is worth a look.
 */
export function ClientTelemetryTable({ rows }: { rows: ClientTelemetryRow[] }) {
  const columns: ColumnDef<ClientTelemetryRow>[] = [
    {
      accessorKey: 'email',
      header: 'User',
      cell: ({ row }) => (
        <span>
          <span className="font-medium text-slate-900">{row.original.email ?? row.original.userId}</span>
          {row.original.department ? <span className="block text-xs text-slate-500">{row.original.department}</span> : null}
        </span>
      ),
    },
    { accessorKey: 'clientApiRequests', header: 'Requests', cell: ({ row }) => pair(formatCount(row.original.clientApiRequests), formatCount(row.original.gatewayRequests)) },
    {
      accessorKey: 'clientInputTokens',
      header: 'Input tokens',
      cell: ({ row }) => pair(formatCount(row.original.clientInputTokens), formatCount(row.original.gatewayInputTokens)),
    },
    {
      accessorKey: 'clientOutputTokens',
      header: 'Output tokens',
      cell: ({ row }) => pair(formatCount(row.original.clientOutputTokens), formatCount(row.original.gatewayOutputTokens)),
    },
    { accessorKey: 'clientCacheTokens', header: 'Cache tokens', cell: ({ row }) => <span className="tabular-nums">{formatCount(row.original.clientCacheTokens)}</span> },
    {
      accessorKey: 'clientCostMicrodollars',
      header: 'Cost',
      cell: ({ row }) => pair(formatMicrodollars(row.original.clientCostMicrodollars), formatMicrodollars(row.original.gatewayCostMicrodollars)),
    },
    { accessorKey: 'activeSeconds', header: 'Active time', cell: ({ row }) => <span className="tabular-nums">{duration(row.original.activeSeconds)}</span> },
    {
      accessorKey: 'toolAccepts',
      header: 'Tool decisions',
      cell: ({ row }) => (
        <span className="tabular-nums">
          {formatCount(row.original.toolAccepts)} allowed
          <span className="block text-xs text-slate-500">{formatCount(row.original.toolRejects)} refused</span>
        </span>
      ),
    },
  ];
  return (
    <DataTable
      caption="Claude Code telemetry by user"
      data={rows}
      columns={columns}
      getRowId={(row) => row.userId}
      searchLabel="Search users"
      emptyMessage="No Claude Code telemetry in this period. Claude Code sends it when signed in to the gateway with telemetry on (managed_settings: CLAUDE_CODE_ENABLE_TELEMETRY=1)."
      initialSorting={[{ id: 'clientCostMicrodollars', desc: true }]}
    />
  );
}
