'use client';

import { createContext, useContext } from 'react';
import type { ColumnDef } from '@tanstack/react-table';
import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { Hidden } from '@/components/admin/fields';
import { INPUT } from '@/components/admin/styles';
import { Badge } from '@/components/table/Badge';
import { DataTable } from '@/components/table/DataTable';
import { formatCount, formatUtcTimestamp } from '@/lib/dashboard/format';
import { SIEM_TYPE_LABELS, type SinkView } from '@/lib/siem/view';

export interface SinkActions {
  retryDead: FormAction;
  replay: FormAction;
  remove: FormAction;
}

function lag(sink: SinkView) {
  if (sink.lagEvents === 0) return <Badge tone="green">up to date</Badge>;
  return (
    <span className="tabular-nums">
      {formatCount(sink.lagEvents)} {sink.lagEvents === 1 ? 'event' : 'events'}
      {sink.oldestPendingAt ? <span className="block text-xs text-slate-500">oldest {formatUtcTimestamp(sink.oldestPendingAt)}</span> : null}
    </span>
  );
}

function state(sink: SinkView) {
  if (!sink.enabled) return <Badge tone="slate">disabled</Badge>;
  if (sink.deadBatches > 0) return <Badge tone="red">dead letters</Badge>;
  if (sink.retryingBatches > 0) return <Badge tone="amber">retrying</Badge>;
  return <Badge tone="green">healthy</Badge>;
}

// The actions reach the cells through context so the column definitions stay the same objects
// across renders: new cell functions would remount the forms and lose their messages.
const ActionsContext = createContext<SinkActions | undefined>(undefined);

function SinkActionsCell({ sink }: { sink: SinkView }) {
  const actions = useContext(ActionsContext);
  if (!actions) return null;
  return (
    <div className="flex min-w-48 flex-col gap-2">
      {sink.deadBatches > 0 ? (
        <ActionForm action={actions.retryDead} label={`Retry dead letters of ${sink.name}`} submitLabel="Retry dead letters" tone="secondary" inline>
          <Hidden name="sinkId" value={sink.id} />
        </ActionForm>
      ) : null}
      <ActionForm action={actions.replay} label={`Replay ${sink.name}`} submitLabel="Replay" tone="secondary" inline>
        <Hidden name="sinkId" value={sink.id} />
        <label className="sr-only" htmlFor={`replay-${sink.id}`}>
          Replay period for {sink.name}
        </label>
        <select id={`replay-${sink.id}`} name="hours" defaultValue="24" className={`${INPUT} w-28`}>
          <option value="1">last hour</option>
          <option value="24">last 24 h</option>
          <option value="168">last 7 days</option>
        </select>
      </ActionForm>
      {sink.origin === 'dashboard' ? (
        <ActionForm action={actions.remove} label={`Remove ${sink.name}`} submitLabel="Remove" tone="danger" confirm={`Remove ${sink.name} and its undelivered batches?`} inline>
          <Hidden name="sinkId" value={sink.id} />
        </ActionForm>
      ) : null}
    </div>
  );
}

const COLUMNS: ColumnDef<SinkView>[] = [
  {
    accessorKey: 'name',
    header: 'Sink',
    cell: ({ row }) => (
      <div className="space-y-1">
        <span className="font-medium text-slate-900">{row.original.name}</span>
        <div className="flex flex-wrap gap-1">
          <Badge tone="indigo">{SIEM_TYPE_LABELS[row.original.type]}</Badge>
          <Badge>{row.original.origin === 'config' ? 'gatehouse.yaml' : 'dashboard'}</Badge>
          {state(row.original)}
        </div>
      </div>
    ),
  },
  {
    accessorKey: 'destination',
    header: 'Sends',
    cell: ({ row }) => (
      <div className="max-w-56 space-y-1 text-xs">
        <span className="block break-all font-mono text-slate-800">{row.original.destination}</span>
        <span className="block text-slate-500">{row.original.filter}</span>
        {row.original.redact.length > 0 ? <span className="block text-slate-500">redacts {row.original.redact.join(', ')}</span> : null}
      </div>
    ),
  },
  { accessorKey: 'lagEvents', header: 'Lag', cell: ({ row }) => lag(row.original) },
  {
    id: 'failures',
    header: 'Failures',
    accessorFn: (sink) => sink.deadBatches * 1_000_000 + sink.retryingBatches,
    cell: ({ row }) => (
      <div className="max-w-64 space-y-1 text-xs">
        <span className="block tabular-nums">{formatCount(row.original.retryingBatches)} retrying</span>
        <span className="block tabular-nums">
          {formatCount(row.original.deadBatches)} dead letters ({formatCount(row.original.deadEvents)} events)
        </span>
        {row.original.lastError ? <span className="block break-words text-rose-700">{row.original.lastError}</span> : null}
      </div>
    ),
  },
  {
    accessorKey: 'lastDeliveredAt',
    header: 'Last delivery',
    cell: ({ row }) => <span className="text-xs">{row.original.lastDeliveredAt ? formatUtcTimestamp(row.original.lastDeliveredAt) : 'never'}</span>,
  },
];

const COLUMNS_WITH_ACTIONS: ColumnDef<SinkView>[] = [...COLUMNS, { id: 'actions', header: 'Actions', enableSorting: false, cell: ({ row }) => <SinkActionsCell sink={row.original} /> }];

export function SinksTable({ sinks, actions }: { sinks: SinkView[]; actions?: SinkActions }) {
  return (
    <ActionsContext.Provider value={actions}>
      <DataTable
        caption="SIEM sinks"
        data={sinks}
        columns={actions ? COLUMNS_WITH_ACTIONS : COLUMNS}
        getRowId={(sink) => sink.id}
        searchLabel="Search sinks"
        emptyMessage="No sinks yet: add one below or under siem.sinks in gatehouse.yaml."
        initialSorting={[{ id: 'name', desc: false }]}
      />
    </ActionsContext.Provider>
  );
}
