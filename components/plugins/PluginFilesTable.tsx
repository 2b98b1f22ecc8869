'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { DataTable } from '@/components/table/DataTable';
import { formatBytes } from '@/lib/dashboard/format';

/** One file of a published plugin version, as its page lists them. */
export interface PluginFileRow {
  path: string;
  size: number;
  sha256: string;
}

const columns: ColumnDef<PluginFileRow>[] = [
  { accessorKey: 'path', header: 'Path', cell: ({ row }) => <span className="font-mono text-xs">{row.original.path}</span> },
  { accessorKey: 'size', header: 'Size', cell: ({ row }) => <span className="text-xs tabular-nums text-slate-600">{formatBytes(row.original.size)}</span> },
  // The digest is for comparing by eye; the whole value is in its title and the signed statement.
  { accessorKey: 'sha256', header: 'SHA-256', enableSorting: false, cell: ({ row }) => <span title={row.original.sha256} className="font-mono text-xs text-slate-500">{row.original.sha256.slice(0, 16)}…</span> },
];

export function PluginFilesTable({ rows }: { rows: PluginFileRow[] }) {
  return <DataTable caption="Files of this version" data={rows} columns={columns} getRowId={(row) => row.path} emptyMessage="This version has no files." searchLabel="Filter files" initialSorting={[{ id: 'path', desc: false }]} />;
}
