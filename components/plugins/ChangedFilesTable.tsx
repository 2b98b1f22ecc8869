'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';

/** A file a submitted version adds, removes or changes against the last approved version. */
export interface ChangedFileRow {
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** Hooks, MCP configuration and scripts: what runs on laptops that install the plugin. */
  runsCode: boolean;
}

const CHANGE_TONES = { added: 'green', removed: 'red', changed: 'indigo' } as const;

const columns: ColumnDef<ChangedFileRow>[] = [
  // Files that run code sort first: they are what a reviewer must read.
  { id: 'runsCode', accessorFn: (row) => (row.runsCode ? 0 : 1), header: 'Runs code', cell: ({ row }) => (row.original.runsCode ? <Badge tone="amber">runs code</Badge> : null) },
  { accessorKey: 'change', header: 'Change', cell: ({ row }) => <Badge tone={CHANGE_TONES[row.original.change]}>{row.original.change}</Badge> },
  { accessorKey: 'path', header: 'Path', cell: ({ row }) => <span className="font-mono text-xs">{row.original.path}</span> },
];

export function ChangedFilesTable({ rows, caption }: { rows: ChangedFileRow[]; caption: string }) {
  return <DataTable caption={caption} data={rows} columns={columns} getRowId={(row) => row.path} emptyMessage="No files changed." initialSorting={[{ id: 'runsCode', desc: false }, { id: 'path', desc: false }]} />;
}
