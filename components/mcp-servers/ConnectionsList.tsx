import { ActionForm, type FormAction } from '@/components/admin/ActionForm';
import { Badge } from '@/components/table/Badge';
import { formatUtcTimestamp } from '@/lib/dashboard/format';

/** One oauth_user server as the person's connections page shows it (plain data). */
export interface ConnectionRow {
  name: string;
  description: string;
  url: string;
  /** The authorization server people sign in to (null until the first connection finds it). */
  issuer: string | null;
  /** The proxy URL clients use. */
  proxyUrl: string;
  connected: { since: string; expiresAt: string | null; scope: string; renewable: boolean } | null;
  /** The server a refusal or a callback pointed here for. */
  highlighted: boolean;
}

export function ConnectionsList({ rows, connect, disconnect }: { rows: ConnectionRow[]; connect: FormAction; disconnect: FormAction }) {
  if (rows.length === 0) {
    return <p className="text-sm text-slate-600">No MCP server available to you signs in on your behalf: there is nothing to connect.</p>;
  }
  return (
    <ul className="divide-y divide-slate-200" aria-label="Servers that act on your behalf">
      {rows.map((row) => (
        <li key={row.name} id={`server-${row.name}`} aria-label={row.name} className={`flex flex-wrap items-start justify-between gap-4 py-4 ${row.highlighted ? '-mx-3 rounded-md bg-indigo-50/60 px-3' : ''}`}>
          <div className="min-w-0 space-y-1">
            <div className="flex flex-wrap items-center gap-2">
              <span className="font-mono text-sm font-semibold text-slate-900">{row.name}</span>
              {row.connected ? <Badge tone="green">Connected</Badge> : <Badge tone="amber">Not connected</Badge>}
            </div>
            {row.description ? <p className="text-sm text-slate-700">{row.description}</p> : null}
            <p className="break-all text-xs text-slate-500">
              Provider: {row.url} · In Claude: {row.proxyUrl}
            </p>
            {row.issuer ? <p className="break-all text-xs text-slate-500">You sign in at: {row.issuer}</p> : null}
            {row.connected ? (
              <p className="text-xs text-slate-600">
                Connected {formatUtcTimestamp(row.connected.since)}
                {row.connected.scope ? ` · access: ${row.connected.scope}` : ''}
                {row.connected.expiresAt ? ` · current token until ${formatUtcTimestamp(row.connected.expiresAt)}` : ''}
                {row.connected.renewable ? ' · renewed automatically' : ' · not renewable: connect again when it expires'}
              </p>
            ) : (
              <p className="text-xs text-slate-600">Calls to this server fail until you connect: it needs your own account at its provider.</p>
            )}
          </div>
          <div className="flex flex-wrap items-start gap-2">
            <ActionForm action={connect} label={`${row.connected ? 'Reconnect' : 'Connect'} your account to ${row.name}`} submitLabel={row.connected ? 'Reconnect' : 'Connect account'} pendingLabel="Opening…" tone={row.connected ? 'secondary' : 'primary'} inline>
              <input type="hidden" name="name" value={row.name} />
            </ActionForm>
            {row.connected ? (
              <ActionForm action={disconnect} label={`Disconnect your account from ${row.name}`} submitLabel="Disconnect" pendingLabel="Disconnecting…" tone="danger" confirm={`Disconnect ${row.name}? Gatehouse forgets your tokens and asks the provider to revoke them.`} inline>
                <input type="hidden" name="name" value={row.name} />
              </ActionForm>
            ) : null}
          </div>
        </li>
      ))}
    </ul>
  );
}
