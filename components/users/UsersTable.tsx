'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import { formatUtcTimestamp } from '@/lib/dashboard/format';
import type { UserRow } from '@/lib/dashboard/users';

const columns: ColumnDef<UserRow>[] = [
  {
    accessorKey: 'email',
    header: 'Email',
    cell: ({ row }) => <span className="font-medium text-slate-900">{row.original.email}</span>,
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
        {row.original.locked ? <Badge tone="amber">locked</Badge> : null}
      </span>
    ),
  },
  {
    id: 'lastSignInAt',
    accessorFn: (user) => user.lastSignInAt ?? '',
    header: 'Last sign-in',
    cell: ({ row }) => (row.original.lastSignInAt ? formatUtcTimestamp(row.original.lastSignInAt) : <span className="text-slate-400">never</span>),
  },
];

export function UsersTable({ users }: { users: UserRow[] }) {
  return (
    <DataTable
      caption="Users"
      data={users}
      columns={columns}
      getRowId={(user) => user.id}
      searchLabel="Search users"
      emptyMessage="No users yet. Add one with “gatehouse users create”."
      initialSorting={[{ id: 'email', desc: false }]}
    />
  );
}
