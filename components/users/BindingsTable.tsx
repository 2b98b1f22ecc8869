'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { Hidden } from '@/components/admin/fields';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import type { ManagedBinding } from '@/lib/admin/users';

export function BindingsTable({ userId, bindings, removeAction }: { userId: string; bindings: ManagedBinding[]; removeAction?: FormAction }) {
  const columns: ColumnDef<ManagedBinding>[] = [
    { accessorKey: 'roleName', header: 'Role', cell: ({ row }) => <Badge tone="indigo">{row.original.roleName}</Badge> },
    {
      id: 'scope',
      accessorFn: (binding) => binding.departmentName ?? '',
      header: 'Applies',
      cell: ({ row }) => (row.original.departmentName ? `Only in ${row.original.departmentName}` : 'Everywhere'),
    },
  ];
  if (removeAction) {
    columns.push({
      id: 'remove',
      header: () => <span className="sr-only">Remove</span>,
      enableSorting: false,
      cell: ({ row }) => (
        <ActionForm action={removeAction} label={`Remove ${row.original.label}`} submitLabel="Remove" tone="danger" confirm={`Take ${row.original.label} away?`} inline>
          <Hidden name="userId" value={userId} />
          <Hidden name="bindingId" value={row.original.id} />
        </ActionForm>
      ),
    });
  }
  return <DataTable caption="Role bindings" data={bindings} columns={columns} getRowId={(binding) => binding.id} emptyMessage="No roles: this user can sign in but do nothing." />;
}
