'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { Badge, type BadgeTone } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import { formatMicrodollars, formatUtcTimestamp } from '@/lib/dashboard/format';

/** One cap as the Budgets page lists it (plain data for the browser). */
export interface BudgetRow {
  name: string;
  id: string | null;
  source: string;
  deletable: boolean;
  appliesTo: string;
  period: string;
  limitMicrodollars: string;
  enforcement: string;
  /** The fullest subject's use (or the organisation's). */
  usedMicrodollars: string;
  usedBy: string;
  percent: number;
  resetsAt: string;
  near: number;
  over: number;
}

export function percentTone(percent: number): BadgeTone {
  if (percent >= 100) return 'red';
  if (percent >= 75) return 'amber';
  return 'green';
}

export function formatPercent(percent: number): string {
  return Number.isFinite(percent) ? `${percent.toFixed(1)} %` : 'over (cap 0)';
}

export function BudgetsTable({ rows, deleteAction }: { rows: BudgetRow[]; deleteAction?: FormAction }) {
  const columns: ColumnDef<BudgetRow>[] = [
    {
      accessorKey: 'name',
      header: 'Budget',
      cell: ({ row }) => (
        <span className="flex flex-col">
          <span className="font-mono text-xs font-medium text-slate-900">{row.original.name}</span>
          <span className="text-xs text-slate-500">{row.original.source}</span>
        </span>
      ),
    },
    { accessorKey: 'appliesTo', header: 'Applies to' },
    { accessorKey: 'period', header: 'Period' },
    { id: 'limit', accessorFn: (row) => Number(row.limitMicrodollars), header: 'Limit', cell: ({ row }) => <span className="tabular-nums">{formatMicrodollars(BigInt(row.original.limitMicrodollars))}</span> },
    {
      id: 'used',
      accessorFn: (row) => Number(row.usedMicrodollars),
      header: 'Current use',
      cell: ({ row }) => (
        <span className="flex flex-col">
          <span className="tabular-nums">{formatMicrodollars(BigInt(row.original.usedMicrodollars))}</span>
          <span className="text-xs text-slate-500">{row.original.usedBy}</span>
        </span>
      ),
    },
    {
      accessorKey: 'percent',
      header: '% used',
      cell: ({ row }) => <Badge tone={percentTone(row.original.percent)}>{formatPercent(row.original.percent)}</Badge>,
    },
    { accessorKey: 'resetsAt', header: 'Resets', cell: ({ row }) => formatUtcTimestamp(row.original.resetsAt) },
    {
      id: 'standing',
      accessorFn: (row) => row.over * 1000 + row.near,
      header: 'Near / over',
      cell: ({ row }) => (
        <span className="tabular-nums">
          {row.original.near} / {row.original.over}
        </span>
      ),
    },
    { accessorKey: 'enforcement', header: 'Enforcement' },
  ];
  if (deleteAction) {
    columns.push({
      id: 'actions',
      header: '',
      enableSorting: false,
      cell: ({ row }) =>
        row.original.deletable && row.original.id ? (
          <ActionForm action={deleteAction} label={`Delete ${row.original.name}`} submitLabel="Delete" tone="danger" confirm={`Delete ${row.original.name}? A YAML budget with this id applies again.`} inline>
            <input type="hidden" name="id" value={row.original.id} />
          </ActionForm>
        ) : null,
    });
  }
  return <DataTable caption="Budgets in force" data={rows} columns={columns} emptyMessage="No budgets: add one below, or under limits.budgets in gatehouse.yaml." initialSorting={[{ id: 'percent', desc: true }]} getRowId={(row) => row.name} />;
}

export interface SubjectRow {
  key: string;
  budget: string;
  who: string;
  spentMicrodollars: string;
  limitMicrodollars: string;
  percent: number;
}

/** Everyone at 75 % or more of a cap. */
export function NearOrOverTable({ rows }: { rows: SubjectRow[] }) {
  const columns: ColumnDef<SubjectRow>[] = [
    { accessorKey: 'who', header: 'Who', cell: ({ row }) => <span className="font-medium text-slate-900">{row.original.who}</span> },
    { accessorKey: 'budget', header: 'Budget', cell: ({ row }) => <span className="font-mono text-xs">{row.original.budget}</span> },
    { id: 'spent', accessorFn: (row) => Number(row.spentMicrodollars), header: 'Spent', cell: ({ row }) => <span className="tabular-nums">{formatMicrodollars(BigInt(row.original.spentMicrodollars))}</span> },
    { id: 'limit', accessorFn: (row) => Number(row.limitMicrodollars), header: 'Limit', cell: ({ row }) => <span className="tabular-nums">{formatMicrodollars(BigInt(row.original.limitMicrodollars))}</span> },
    { accessorKey: 'percent', header: '% used', cell: ({ row }) => <Badge tone={percentTone(row.original.percent)}>{formatPercent(row.original.percent)}</Badge> },
  ];
  return <DataTable caption="Near or over a budget" data={rows} columns={columns} emptyMessage="Nobody is at 75 % of a budget or more." initialSorting={[{ id: 'percent', desc: true }]} getRowId={(row) => row.key} />;
}
