'use client';

import type { ColumnDef } from '@tanstack/react-table';
import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { Hidden } from '@/components/admin/fields';
import { Badge, type BadgeTone } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import type { SessionRow } from '@/lib/admin/sessions';
import { formatUtcTimestamp } from '@/lib/dashboard/format';

const STATUS_TONES: Record<SessionRow['status'], BadgeTone> = { active: 'green', expired: 'slate', revoked: 'red' };

const GRANT_NAMES: Record<string, string> = {
  authorization_code: 'Browser sign-in',
  'urn:ietf:params:oauth:grant-type:device_code': 'Device code',
  cli: 'Minted by the CLI',
};

function time(iso: string) {
  return (
    <time dateTime={iso} className="tabular-nums">
      {formatUtcTimestamp(iso)}
    </time>
  );
}

export function SessionsTable({ userId, sessions, revokeAction }: { userId: string; sessions: SessionRow[]; revokeAction?: FormAction }) {
  const columns: ColumnDef<SessionRow>[] = [
    {
      accessorKey: 'client',
      header: 'Client',
      cell: ({ row }) => (
        <span>
          <span className="font-medium text-slate-900">{row.original.client}</span>
          <span className="block font-mono text-xs text-slate-500">{row.original.surface ? `${row.original.clientId} · ${row.original.surface}` : row.original.clientId}</span>
        </span>
      ),
    },
    { id: 'grant', accessorFn: (session) => GRANT_NAMES[session.grantType] ?? session.grantType, header: 'Signed in by' },
    { accessorKey: 'createdAt', header: 'Created', cell: ({ row }) => time(row.original.createdAt) },
    { accessorKey: 'lastUsedAt', header: 'Last used', cell: ({ row }) => time(row.original.lastUsedAt) },
    {
      accessorKey: 'status',
      header: 'Status',
      cell: ({ row }) => (
        <span className="flex items-center gap-1">
          <Badge tone={STATUS_TONES[row.original.status]}>{row.original.status}</Badge>
          {row.original.revokedReason ? <span className="text-xs text-slate-500">{row.original.revokedReason.replaceAll('_', ' ')}</span> : null}
        </span>
      ),
    },
  ];
  if (revokeAction) {
    columns.push({
      id: 'revoke',
      header: () => <span className="sr-only">Revoke</span>,
      enableSorting: false,
      cell: ({ row }) =>
        row.original.status === 'active' ? (
          <ActionForm action={revokeAction} label={`Revoke session ${row.original.id}`} submitLabel="Revoke" tone="danger" inline>
            <Hidden name="userId" value={userId} />
            <Hidden name="sessionId" value={row.original.id} />
          </ActionForm>
        ) : null,
    });
  }
  return (
    <DataTable
      caption="Sessions"
      data={sessions}
      columns={columns}
      getRowId={(session) => session.id}
      emptyMessage="No sign-ins from Claude Code, Cowork or other OAuth clients yet."
    />
  );
}
