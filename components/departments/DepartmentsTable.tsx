'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { Hidden } from '@/components/admin/fields';
import { INPUT } from '@/components/admin/styles';
import { DataTable } from '@/components/table/DataTable';
import type { DepartmentRow } from '@/lib/admin/departments';
import { formatCount, formatUtcTimestamp } from '@/lib/dashboard/format';

export function DepartmentsTable({ departments, renameAction }: { departments: DepartmentRow[]; renameAction?: FormAction }) {
  const columns: ColumnDef<DepartmentRow>[] = [
    {
      accessorKey: 'name',
      header: 'Name',
      cell: ({ row }) =>
        renameAction ? (
          <ActionForm action={renameAction} label={`Rename ${row.original.name}`} submitLabel="Rename" tone="secondary" inline>
            <Hidden name="departmentId" value={row.original.id} />
            <label className="sr-only" htmlFor={`department-${row.original.id}`}>
              Name of {row.original.name}
            </label>
            <input id={`department-${row.original.id}`} name="name" defaultValue={row.original.name} required className={`${INPUT} w-56`} />
          </ActionForm>
        ) : (
          <span className="font-medium text-slate-900">{row.original.name}</span>
        ),
    },
    { accessorKey: 'slug', header: 'Slug', cell: ({ row }) => <span className="font-mono text-xs">{row.original.slug}</span> },
    { accessorKey: 'users', header: 'Users', cell: ({ row }) => <span className="tabular-nums">{formatCount(row.original.users)}</span> },
    { accessorKey: 'createdAt', header: 'Created', cell: ({ row }) => formatUtcTimestamp(row.original.createdAt) },
  ];
  return (
    <DataTable
      caption="Departments"
      data={departments}
      columns={columns}
      getRowId={(department) => department.id}
      searchLabel="Search departments"
      emptyMessage="No departments yet."
      initialSorting={[{ id: 'slug', desc: false }]}
    />
  );
}
