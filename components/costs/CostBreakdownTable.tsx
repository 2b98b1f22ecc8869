'use client';

import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { DataTable } from '@/components/table/DataTable';
import { formatCount, formatMicrodollars } from '@/lib/dashboard/format';
import type { CostBreakdownRow } from '@/lib/costs/view';

export interface CostBreakdownTableProps {
  caption: string;
  /** What the first column names (User, Model, …). */
  dimension: string;
  rows: CostBreakdownRow[];
  /** Per row: the Costs page narrowed to it, and the request explorer's view of its calls. */
  links: Record<string, { filter?: string; requests: string }>;
  searchLabel?: string;
}

const tokens = (value: string) => formatCount(Number(value));

export function CostBreakdownTable({ caption, dimension, rows, links, searchLabel }: CostBreakdownTableProps) {
  const columns: ColumnDef<CostBreakdownRow>[] = [
    {
      accessorKey: 'label',
      header: dimension,
      cell: ({ row }) => {
        const link = links[row.original.key];
        return link?.filter ? (
          <Link href={link.filter} className="font-medium text-indigo-700 underline-offset-2 hover:underline">
            {row.original.label}
          </Link>
        ) : (
          <span className="font-medium text-slate-900">{row.original.label}</span>
        );
      },
    },
    { id: 'cost', accessorFn: (row) => Number(row.costMicrodollars), header: 'Spend', cell: ({ row }) => <span className="tabular-nums">{formatMicrodollars(BigInt(row.original.costMicrodollars))}</span> },
    { accessorKey: 'share', header: 'Share', cell: ({ row }) => <span className="tabular-nums">{row.original.share.toFixed(1)} %</span> },
    {
      accessorKey: 'requests',
      header: 'Requests',
      cell: ({ row }) => (
        <span className="tabular-nums">
          {formatCount(row.original.requests)}
          {row.original.estimatedRequests ? <span className="ml-1 text-xs text-amber-700" title="priced from an estimate: the upstream never reported usage">({formatCount(row.original.estimatedRequests)} est.)</span> : null}
        </span>
      ),
    },
    { id: 'input', accessorFn: (row) => Number(row.inputTokens), header: 'Input tokens', cell: ({ row }) => <span className="tabular-nums">{tokens(row.original.inputTokens)}</span> },
    { id: 'output', accessorFn: (row) => Number(row.outputTokens), header: 'Output tokens', cell: ({ row }) => <span className="tabular-nums">{tokens(row.original.outputTokens)}</span> },
    { id: 'cacheRead', accessorFn: (row) => Number(row.cacheReadInputTokens), header: 'Cache reads', cell: ({ row }) => <span className="tabular-nums">{tokens(row.original.cacheReadInputTokens)}</span> },
    {
      id: 'requestsLink',
      header: '',
      enableSorting: false,
      cell: ({ row }) => (
        <Link href={links[row.original.key]?.requests ?? '/audit'} className="text-sm text-indigo-700 underline-offset-2 hover:underline">
          Requests →
        </Link>
      ),
    },
  ];
  return <DataTable caption={caption} data={rows} columns={columns} emptyMessage="No spend in this range." searchLabel={searchLabel} initialSorting={[{ id: 'cost', desc: true }]} getRowId={(row) => row.key || '(none)'} />;
}
