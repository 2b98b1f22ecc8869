'use client';

import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import type { RoleRow } from '@/lib/admin/roles';
import { formatCount } from '@/lib/dashboard/format';

const columns: ColumnDef<RoleRow>[] = [
  {
    accessorKey: 'name',
    header: 'Role',
    cell: ({ row }) => (
      <Link href={`/roles/${row.original.id}`} className="font-medium text-indigo-700 underline-offset-2 hover:underline">
        {row.original.name}
      </Link>
    ),
  },
  { id: 'kind', accessorFn: (role) => (role.builtIn ? 'built-in' : 'custom'), header: 'Kind', cell: ({ getValue }) => <Badge tone={getValue() === 'built-in' ? 'slate' : 'indigo'}>{String(getValue())}</Badge> },
  { accessorKey: 'description', header: 'Description', cell: ({ row }) => <span className="whitespace-normal">{row.original.description || '—'}</span> },
  {
    id: 'permissions',
    accessorFn: (role) => role.permissions.join(' '),
    header: 'Permissions',
    enableSorting: false,
    cell: ({ row }) => (
      <span className="flex max-w-xl flex-wrap gap-1">
        {row.original.permissions.map((permission) => (
          <code key={permission} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-[11px] text-slate-700">
            {permission}
          </code>
        ))}
      </span>
    ),
  },
  { accessorKey: 'bindings', header: 'Holders', cell: ({ row }) => <span className="tabular-nums">{formatCount(row.original.bindings)}</span> },
];

export function RolesTable({ roles }: { roles: RoleRow[] }) {
  return <DataTable caption="Roles" data={roles} columns={columns} getRowId={(role) => role.id} searchLabel="Search roles" emptyMessage="No roles." />;
}
