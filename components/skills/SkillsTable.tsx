'use client';

import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import { formatUtcTimestamp } from '@/lib/dashboard/format';
import { sharingLabel } from './sharing-label';

/** One row of a skills list: plain data, so the server page can hand it to this client table. */
export interface SkillRow {
  id: string;
  name: string;
  description: string;
  version: number;
  sharing: 'private' | 'department' | 'organisation';
  departmentName: string | null;
  owner: string;
  tags: string[];
  updatedAt: string;
  /** For deleted skills: until when they can be restored. */
  restorableUntil: string | null;
}

export function SkillsTable({ rows, caption, showOwner = false, deleted = false, emptyMessage }: { rows: SkillRow[]; caption: string; showOwner?: boolean; deleted?: boolean; emptyMessage: string }) {
  const columns: ColumnDef<SkillRow>[] = [
    {
      accessorKey: 'name',
      header: 'Name',
      cell: ({ row }) => (
        <Link href={`/skills/${row.original.id}`} className="font-mono font-medium text-indigo-700 hover:underline">
          {row.original.name}
        </Link>
      ),
    },
    { accessorKey: 'description', header: 'Description', cell: ({ row }) => <span className="line-clamp-2 max-w-md text-slate-600">{row.original.description}</span> },
    ...(showOwner ? [{ accessorKey: 'owner', header: 'Owner' } satisfies ColumnDef<SkillRow>] : []),
    { id: 'sharing', accessorFn: (row) => sharingLabel(row), header: 'Shared with', cell: ({ row }) => <Badge tone={row.original.sharing === 'private' ? 'slate' : 'indigo'}>{sharingLabel(row.original)}</Badge> },
    { id: 'tags', accessorFn: (row) => row.tags.join(' '), header: 'Tags', cell: ({ row }) => <span className="flex flex-wrap gap-1">{row.original.tags.map((tag) => <Badge key={tag}>{tag}</Badge>)}</span> },
    { accessorKey: 'version', header: 'Version', cell: ({ row }) => <span className="tabular-nums">v{row.original.version}</span> },
    deleted
      ? { accessorKey: 'restorableUntil', header: 'Restorable until', cell: ({ row }) => formatUtcTimestamp(row.original.restorableUntil) }
      : { accessorKey: 'updatedAt', header: 'Updated', cell: ({ row }) => formatUtcTimestamp(row.original.updatedAt) },
  ];
  return <DataTable caption={caption} data={rows} columns={columns} getRowId={(row) => row.id} emptyMessage={emptyMessage} initialSorting={[{ id: 'name', desc: false }]} />;
}
