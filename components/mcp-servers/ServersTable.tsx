'use client';

import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { INPUT } from '@/components/admin/styles';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import { formatUtcTimestamp } from '@/lib/dashboard/format';

/** One registered server as the MCP servers page lists it (plain data for the browser). */
export interface ServerRow {
  name: string;
  description: string;
  owner: string;
  transport: string;
  target: string;
  status: 'active' | 'revoked';
  revokedReason: string | null;
  scope: string[];
  tools: number;
  approvedVersion: number | null;
  lastCheck: { at: string; ok: boolean; error: string | null; latencyMs: number | null } | null;
  /** A changed tool list waiting for review. */
  pending: { version: number; added: string[]; removed: string[]; changed: string[] } | null;
}

export interface ServerActions {
  check: FormAction;
  approve: FormAction;
  reject: FormAction;
  revoke: FormAction;
}

function Drift({ row, actions }: { row: ServerRow; actions: ServerActions }) {
  const { pending } = row;
  if (!pending) return <span className="text-slate-400">none</span>;
  const summary = [pending.added.length ? `+${pending.added.join(', +')}` : null, pending.removed.length ? `−${pending.removed.join(', −')}` : null, pending.changed.length ? `changed ${pending.changed.join(', ')}` : null].filter(Boolean).join('; ');
  return (
    <span className="flex max-w-sm flex-col gap-2 whitespace-normal">
      <span>
        <Badge tone="amber">v{pending.version} waits for review</Badge>
        <span className="mt-1 block text-xs text-slate-600">{summary || 'same names, different descriptions or schemas'}</span>
      </span>
      <span className="flex flex-wrap gap-2">
        <ActionForm action={actions.approve} label={`Approve version ${pending.version} of ${row.name}`} submitLabel="Approve" tone="secondary" inline>
          <input type="hidden" name="name" value={row.name} />
          <input type="hidden" name="version" value={pending.version} />
        </ActionForm>
        <ActionForm action={actions.reject} label={`Reject version ${pending.version} of ${row.name}`} submitLabel="Reject" tone="danger" inline>
          <input type="hidden" name="name" value={row.name} />
          <input type="hidden" name="version" value={pending.version} />
          <input aria-label="Why reject" name="comment" required placeholder="Why (recorded)" className={`${INPUT} w-40`} />
        </ActionForm>
      </span>
    </span>
  );
}

export function ServersTable({ rows, actions }: { rows: ServerRow[]; actions: ServerActions }) {
  const columns: ColumnDef<ServerRow>[] = [
    {
      accessorKey: 'name',
      header: 'Server',
      cell: ({ row }) => (
        <span className="flex max-w-xs flex-col whitespace-normal">
          <span className="font-mono text-xs font-medium text-slate-900">{row.original.name}</span>
          {row.original.description ? <span className="text-xs text-slate-500">{row.original.description}</span> : null}
          <span className="break-all text-xs text-slate-400">{row.original.target}</span>
          <span className="text-xs text-slate-400">owner {row.original.owner}</span>
        </span>
      ),
    },
    { accessorKey: 'transport', header: 'Transport' },
    {
      accessorKey: 'status',
      header: 'Status',
      cell: ({ row }) =>
        row.original.status === 'active' ? (
          <Badge tone="green">active</Badge>
        ) : (
          <span className="flex flex-col gap-1">
            <Badge tone="red">revoked</Badge>
            {row.original.revokedReason ? <span className="max-w-[12rem] whitespace-normal text-xs text-slate-500">{row.original.revokedReason}</span> : null}
          </span>
        ),
    },
    { id: 'scope', accessorFn: (row) => row.scope.join(', '), header: 'Scope', cell: ({ row }) => <span className="block max-w-[14rem] whitespace-normal text-xs">{row.original.scope.join(', ') || 'nobody yet'}</span> },
    {
      accessorKey: 'tools',
      header: 'Tools',
      cell: ({ row }) => (row.original.approvedVersion === null ? <span className="text-slate-400">none approved</span> : <span className="tabular-nums">{row.original.tools} (v{row.original.approvedVersion})</span>),
    },
    {
      id: 'lastCheck',
      accessorFn: (row) => row.lastCheck?.at ?? '',
      header: 'Last check',
      cell: ({ row }) => {
        const check = row.original.lastCheck;
        if (!check) return <span className="text-slate-400">{row.original.transport === 'stdio' ? 'runs on devices' : 'never'}</span>;
        return (
          <span className="flex flex-col gap-1">
            <span className="text-xs">{formatUtcTimestamp(check.at)}</span>
            {check.ok ? <Badge tone="green">ok{check.latencyMs !== null ? ` · ${check.latencyMs} ms` : ''}</Badge> : <span className="max-w-[14rem] whitespace-normal text-xs text-rose-700">failed: {check.error}</span>}
          </span>
        );
      },
    },
    { id: 'drift', accessorFn: (row) => (row.pending ? 1 : 0), header: 'Drift', cell: ({ row }) => <Drift row={row.original} actions={actions} /> },
    {
      id: 'actions',
      header: '',
      enableSorting: false,
      cell: ({ row }) =>
        row.original.status === 'active' ? (
          <span className="flex flex-col items-start gap-2">
            <Link href={`/mcp-servers?edit=${encodeURIComponent(row.original.name)}#scope-form`} className="rounded-md px-2 py-1.5 text-sm font-medium text-indigo-700 hover:bg-indigo-50" aria-label={`Edit the scope of ${row.original.name}`}>
              Edit scope
            </Link>
            {row.original.transport !== 'stdio' ? (
              <ActionForm action={actions.check} label={`Check ${row.original.name}`} submitLabel="Check now" tone="secondary" pendingLabel="Checking…" inline>
                <input type="hidden" name="name" value={row.original.name} />
              </ActionForm>
            ) : null}
            <ActionForm action={actions.revoke} label={`Revoke ${row.original.name}`} submitLabel="Revoke" tone="danger" confirm={`Revoke ${row.original.name}? Every laptop drops it at its next poll.`} inline>
              <input type="hidden" name="name" value={row.original.name} />
              <input aria-label="Reason" name="reason" required placeholder="Reason (recorded)" className={`${INPUT} w-44`} />
            </ActionForm>
          </span>
        ) : null,
    },
  ];
  return <DataTable caption="Registered MCP servers" data={rows} columns={columns} searchLabel="Search servers" emptyMessage="No MCP servers registered yet: register one below." getRowId={(row) => row.name} initialSorting={[{ id: 'name', desc: false }]} />;
}
