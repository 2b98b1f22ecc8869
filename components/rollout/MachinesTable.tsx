'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { Badge, type BadgeTone } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import type { MachineState } from '@/lib/mdm/checksums';
import { formatUtcTimestamp } from '@/lib/dashboard/format';

export interface MachineRowView {
  userId: string;
  email: string;
  sessionKey: string;
  checksum: string | null;
  client: string | null;
  lastSeenAt: string;
  state: MachineState;
}

const STATES: Record<MachineState, { tone: BadgeTone; label: string }> = {
  current: { tone: 'green', label: 'current' },
  outdated: { tone: 'amber', label: 'outdated' },
  unmanaged: { tone: 'red', label: 'no managed settings' },
};

export function MachinesTable({ machines }: { machines: MachineRowView[] }) {
  const columns: ColumnDef<MachineRowView>[] = [
    { accessorKey: 'email', header: 'Person', cell: ({ row }) => <span className="font-medium text-slate-900">{row.original.email}</span> },
    {
      accessorKey: 'state',
      header: 'Settings',
      cell: ({ row }) => <Badge tone={STATES[row.original.state].tone}>{STATES[row.original.state].label}</Badge>,
    },
    {
      accessorKey: 'client',
      header: 'Client and session',
      cell: ({ row }) => (
        <span>
          <span className="text-slate-700">{row.original.client ?? 'unknown client'}</span>
          <span className="block break-all font-mono text-xs text-slate-500">{row.original.sessionKey}</span>
        </span>
      ),
    },
    { accessorKey: 'lastSeenAt', header: 'Last seen', cell: ({ row }) => formatUtcTimestamp(row.original.lastSeenAt) },
  ];
  return (
    <DataTable
      caption="Claude Code sessions and their managed settings"
      data={machines}
      columns={columns}
      emptyMessage="No Claude Code session has reached the gateway in the last 14 days."
      searchLabel="Filter machines"
      getRowId={(row) => `${row.userId}:${row.sessionKey}`}
    />
  );
}
