'use client';

import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import type { ManagedUserRow } from '@/lib/admin/users';
import { formatUtcTimestamp } from '@/lib/dashboard/format';

const columns: ColumnDef<ManagedUserRow>[] = [
  {
    accessorKey: 'email',
    header: 'Email',
    cell: ({ row }) => (
      <Link href={`/users/${row.original.id}`} className="font-medium text-indigo-700 underline-offset-2 hover:underline">
        {row.original.email}
      </Link>
    ),
  },
  { accessorKey: 'name', header: 'Name' },
  {
    id: 'department',
    accessorFn: (user) => user.department ?? '',
    header: 'Department',
    cell: ({ row }) => row.original.department ?? <span className="text-slate-400">—</span>,
  },
  {
    id: 'roles',
    accessorFn: (user) => user.roles.join(', '),
    header: 'Roles',
    cell: ({ row }) =>
      row.original.roles.length === 0 ? (
        <span className="text-slate-400">none</span>
      ) : (
        <span className="flex flex-wrap gap-1">
          {row.original.roles.map((role) => (
            <Badge key={role} tone="indigo">
              {role}
            </Badge>
          ))}
        </span>
      ),
  },
  {
    accessorKey: 'status',
    header: 'Status',
    cell: ({ row }) => (
      <span className="flex gap-1">
        <Badge tone={row.original.status === 'active' ? 'green' : 'slate'}>{row.original.status}</Badge>
      </span>
    ),
  },
  {
    id: 'lastSignInAt',
    accessorFn: (user) => user.lastSignInAt ?? '',
    header: 'Last sign-in',
    cell: ({ row }) => (row.original.lastSignInAt ? formatUtcTimestamp(row.original.lastSignInAt) : <span className="text-slate-400">never</span>),
  },
  {
    // Sorting by it puts the seats nobody uses first.
    id: 'lastActiveAt',
    accessorFn: (user) => user.lastActiveAt ?? '',
    header: 'Last active',
    cell: ({ row }) => (row.original.lastActiveAt ? formatUtcTimestamp(row.original.lastActiveAt) : <span className="text-slate-400">never</span>),
  },
];

export function UsersTable({ users }: { users: ManagedUserRow[] }) {
  return (
    <DataTable
      caption="Users"
      data={users}
      columns={columns}
      getRowId={(user) => user.id}
      searchLabel="Search users"
      emptyMessage="No users you can see yet."
      initialSorting={[{ id: 'email', desc: false }]}
    />
  );
}
