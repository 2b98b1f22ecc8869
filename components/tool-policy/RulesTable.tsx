'use client';

import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import { DecisionBadge } from './decision';

/** One rule as the Tool policy page lists it (plain data for the browser). */
export interface RuleRow {
  id: string;
  who: string;
  server: string;
  tool: string;
  decision: string;
  failMode: string;
  conditions: string;
  enabled: boolean;
  description: string;
}

export function RulesTable({ rows, setEnabledAction, deleteAction }: { rows: RuleRow[]; setEnabledAction: FormAction; deleteAction: FormAction }) {
  const columns: ColumnDef<RuleRow>[] = [
    {
      accessorKey: 'who',
      header: 'Applies to',
      cell: ({ row }) => (
        <span className="flex flex-col">
          <span className="font-medium text-slate-900">{row.original.who}</span>
          {row.original.description ? <span className="max-w-xs whitespace-normal text-xs text-slate-500">{row.original.description}</span> : null}
        </span>
      ),
    },
    { id: 'target', accessorFn: (row) => `${row.server}/${row.tool}`, header: 'Server / tool', cell: ({ row }) => <span className="font-mono text-xs">{`${row.original.server}/${row.original.tool}`}</span> },
    { accessorKey: 'decision', header: 'Decision', cell: ({ row }) => <DecisionBadge decision={row.original.decision} /> },
    { accessorKey: 'conditions', header: 'Conditions', cell: ({ row }) => <span className="block max-w-xs whitespace-normal text-xs text-slate-600">{row.original.conditions || 'none'}</span> },
    { accessorKey: 'failMode', header: 'Gatehouse down', cell: ({ row }) => (row.original.failMode === 'open' ? 'allow (fail open)' : 'refuse (fail closed)') },
    { accessorKey: 'enabled', header: 'State', cell: ({ row }) => (row.original.enabled ? <Badge tone="green">enabled</Badge> : <Badge>disabled</Badge>) },
    {
      id: 'actions',
      header: '',
      enableSorting: false,
      cell: ({ row }) => (
        <span className="flex flex-wrap items-end gap-2">
          <Link href={`/tool-policy?edit=${row.original.id}#rule-form`} className="rounded-md px-2 py-1.5 text-sm font-medium text-indigo-700 hover:bg-indigo-50" aria-label={`Edit ${row.original.server}/${row.original.tool} for ${row.original.who}`}>
            Edit
          </Link>
          <ActionForm action={setEnabledAction} label={`${row.original.enabled ? 'Disable' : 'Enable'} ${row.original.server}/${row.original.tool} for ${row.original.who}`} submitLabel={row.original.enabled ? 'Disable' : 'Enable'} tone="secondary" inline>
            <input type="hidden" name="ruleId" value={row.original.id} />
            <input type="hidden" name="enabled" value={row.original.enabled ? 'false' : 'true'} />
          </ActionForm>
          <ActionForm action={deleteAction} label={`Remove ${row.original.server}/${row.original.tool} for ${row.original.who}`} submitLabel="Remove" tone="danger" confirm="Remove this rule?" inline>
            <input type="hidden" name="ruleId" value={row.original.id} />
          </ActionForm>
        </span>
      ),
    },
  ];
  return <DataTable caption="Tool policy rules" data={rows} columns={columns} searchLabel="Search rules" emptyMessage="No rules: everyone in a server's scope may use all its tools. Add a rule below." getRowId={(row) => row.id} />;
}
