'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { Hidden } from '@/components/admin/fields';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import type { ClientRow } from '@/lib/admin/clients';
import { formatUtcTimestamp } from '@/lib/dashboard/format';

export function ClientsTable({ clients, statusAction }: { clients: ClientRow[]; statusAction: FormAction }) {
  const columns: ColumnDef<ClientRow>[] = [
    {
      accessorKey: 'name',
      header: 'Name',
      cell: ({ row }) => (
        <span>
          <span className="font-medium text-slate-900">{row.original.name}</span>
          <span className="block font-mono text-xs text-slate-500">{row.original.clientId}</span>
        </span>
      ),
    },
    {
      accessorKey: 'type',
      header: 'Type',
      cell: ({ row }) => (
        <span className="flex gap-1">
          <Badge tone="slate">{row.original.type}</Badge>
          {row.original.trusted ? <Badge tone="indigo">first-party</Badge> : null}
        </span>
      ),
    },
    {
      accessorKey: 'registeredVia',
      header: 'Registered',
      cell: ({ row }) =>
        row.original.registeredVia === 'dynamic' ? (
          <span>
            Dynamically
            {row.original.registrationIp ? <span className="block text-xs text-slate-500">from {row.original.registrationIp}</span> : null}
          </span>
        ) : row.original.registeredVia === 'metadata_document' ? (
          'By its metadata document (client id URL)'
        ) : (
          'By an administrator'
        ),
    },
    {
      id: 'redirects',
      accessorFn: (client) => client.redirectUris.join(' '),
      header: 'Redirect URIs',
      enableSorting: false,
      cell: ({ row }) =>
        row.original.redirectUris.length === 0 ? (
          <span className="text-slate-400">none</span>
        ) : (
          <span className="block max-w-xs space-y-0.5 whitespace-normal break-all font-mono text-xs">
            {row.original.redirectUris.map((uri) => (
              <span key={uri} className="block">
                {uri}
              </span>
            ))}
          </span>
        ),
    },
    { accessorKey: 'createdAt', header: 'Created', cell: ({ row }) => formatUtcTimestamp(row.original.createdAt) },
    {
      id: 'status',
      accessorFn: (client) => (client.disabledAt ? 'disabled' : 'active'),
      header: 'Status',
      cell: ({ row }) => <Badge tone={row.original.disabledAt ? 'slate' : 'green'}>{row.original.disabledAt ? 'disabled' : 'active'}</Badge>,
    },
    {
      id: 'action',
      header: () => <span className="sr-only">Change</span>,
      enableSorting: false,
      cell: ({ row }) =>
        row.original.disabledAt ? (
          <ActionForm action={statusAction} label={`Enable ${row.original.name}`} submitLabel="Enable" tone="secondary" inline>
            <Hidden name="clientId" value={row.original.clientId} />
            <Hidden name="disabled" value="false" />
          </ActionForm>
        ) : (
          <ActionForm action={statusAction} label={`Disable ${row.original.name}`} submitLabel="Disable" tone="danger" confirm="End its sign-ins and refuse new ones?" inline>
            <Hidden name="clientId" value={row.original.clientId} />
            <Hidden name="disabled" value="true" />
          </ActionForm>
        ),
    },
  ];
  return (
    <DataTable
      caption="OAuth clients"
      data={clients}
      columns={columns}
      getRowId={(client) => client.clientId}
      searchLabel="Search clients"
      emptyMessage="No OAuth clients yet. MCP clients and connectors register themselves when they first connect."
    />
  );
}
