import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/admin/ActionForm';
import { Hidden } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { RegisterServerFields } from '@/components/mcp-servers/RegisterFields';
import { ScopeFields } from '@/components/mcp-servers/ScopeFields';
import { ServersTable, type ServerRow } from '@/components/mcp-servers/ServersTable';
import { departmentOptions } from '@/lib/admin/departments';
import { roleOptions } from '@/lib/admin/roles';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { listServers, toolChanges, type RegisteredServer } from '@/lib/mcp/registry';
import { scopeSelectionOf } from '@/lib/mcp/registry/form';
import { authorize } from '@/lib/rbac/authorize';
import { approveVersionAction, checkServerAction, registerServerAction, rejectVersionAction, revokeServerAction, updateScopeAction } from './actions';

export const metadata: Metadata = { title: 'MCP servers' };

function serverRow(server: RegisteredServer): ServerRow {
  const approved = server.approvedVersion;
  const pending = server.pendingVersion;
  return {
    name: server.name,
    description: server.description,
    owner: server.owner.email ?? 'unknown',
    transport: server.transport === 'streamable_http' ? 'Streamable HTTP' : server.transport === 'sse' ? 'SSE' : 'stdio',
    target: server.url ?? [server.command, ...server.args].join(' '),
    status: server.status,
    revokedReason: server.revoked?.reason || null,
    scope: server.scope.map((entry) => entry.label),
    tools: approved?.tools.length ?? 0,
    approvedVersion: approved?.version ?? null,
    lastCheck: server.lastCheck ? { at: server.lastCheck.at.toISOString(), ok: server.lastCheck.ok, error: server.lastCheck.error, latencyMs: server.lastCheck.latencyMs } : null,
    pending: pending ? { version: pending.version, ...toolChanges(approved?.tools ?? [], pending.tools) } : null,
  };
}

/** Scope entries that name nobody active any more (deleted or deactivated): shown so the administrator sees what saving drops. */
function StaleScope({ labels }: { labels: string[] }) {
  return (
    <div role="note" aria-label="No longer active" className="rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
      <p className="font-medium">No longer active, dropped when you save:</p>
      <ul className="mt-1 list-disc pl-5">
        {labels.map((label) => (
          <li key={label}>{label}</li>
        ))}
      </ul>
    </div>
  );
}

interface McpServersPageProps {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

export default async function McpServersPage({ searchParams }: McpServersPageProps) {
  const user = await requireDashboardUser('/mcp-servers');
  if (!(await authorize(dashboardPrincipal(user), 'mcp.admin'))) return <AccessDenied permission="mcp.admin" />;
  const editName = (await searchParams).edit;
  const [servers, departments, roles] = await Promise.all([listServers(user.tenantId), departmentOptions(user.tenantId), roleOptions(user.tenantId)]);
  // A revoked server keeps its scope for the record; only a live one is rescoped.
  const editing = typeof editName === 'string' ? (servers.find((server) => server.name === editName && server.status === 'active') ?? null) : null;
  const selection = scopeSelectionOf(editing?.scope ?? []);
  return (
    <>
      <PageHeader
        title="MCP servers"
        description="Every MCP server registered once, for the people in its scope: clients reach remote ones through the Gatehouse proxy (/mcp/servers/NAME), which adds the upstream's credentials and applies the tool policy. A health check that finds different tools holds them until you approve; revoking takes a server off every allowlist at the clients' next poll."
      />
      <div className="space-y-6">
        <ServersTable rows={servers.map(serverRow)} actions={{ check: checkServerAction, approve: approveVersionAction, reject: rejectVersionAction, revoke: revokeServerAction }} />
        {servers.some((server) => server.upstreamAuth === 'oauth_user' && server.status === 'active') ? (
          <p className="text-sm text-slate-700">
            Servers that sign in each person at their provider are checked with your own account:{' '}
            <Link href="/mcp-servers/connections" className="font-medium text-indigo-700 underline underline-offset-2 hover:text-indigo-600">
              connect it on Your MCP connections
            </Link>
            , then run the check and approve the tools. People connect theirs on the same page.
          </p>
        ) : null}
        {editing ? (
          <div id="scope-form">
            <Section
              title={`Scope of ${editing.name}`}
              description="Who may use this server. Saving replaces the whole scope, which must include someone (to take the server away from everyone, revoke it), is audited, and moves the allowlist sequence: people added get the server at their next poll, people left out lose it and the proxy refuses them at once."
              actions={
                <Link href="/mcp-servers" className="text-sm font-medium text-indigo-700 hover:underline">
                  Close
                </Link>
              }
            >
              {/* Keyed by the server, so moving from one server to another resets the boxes. */}
              <ActionForm key={editing.id} action={updateScopeAction} label={`Scope of ${editing.name}`} submitLabel="Save scope" pendingLabel="Saving…">
                <Hidden name="name" value={editing.name} />
                <Hidden name="scopeShownUsers" value={selection.users.join(' ')} />
                <ScopeFields roles={roles.map((role) => role.name)} departments={departments} legend="Who may use it" selected={selection} />
                {selection.stale.length ? <StaleScope labels={selection.stale} /> : null}
              </ActionForm>
            </Section>
          </div>
        ) : null}
        <Section title="Register a server" description="A remote server is checked at once and its tools approved as version 1; a device-run server is recorded with the tools you declare. Every registration is audited and moves the allowlist sequence.">
          <ActionForm action={registerServerAction} label="Register a server" submitLabel="Register" pendingLabel="Registering…" resetOnSuccess>
            <RegisterServerFields roles={roles.map((role) => role.name)} departments={departments} />
          </ActionForm>
        </Section>
      </div>
    </>
  );
}
