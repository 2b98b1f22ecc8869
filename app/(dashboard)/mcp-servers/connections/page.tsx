import type { Metadata } from 'next';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { ConnectionsList, type ConnectionRow } from '@/components/mcp-servers/ConnectionsList';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { proxiedServerUrl } from '@/lib/mcp/resource';
import { audienceOf, listServers, SERVER_NAME } from '@/lib/mcp/registry';
import { connectable, connectionsOf, type ConnectResult } from '@/lib/mcp/upstream-oauth';
import { authorize } from '@/lib/rbac/authorize';
import { connectAccountAction, disconnectAccountAction } from './actions';

export const metadata: Metadata = { title: 'Your MCP connections' };

/** What the callback's (or a disconnect's) outcome code says: fixed text, nothing from the URL but a server name shown. */
const RESULTS: Record<ConnectResult | 'disconnected' | 'disconnected_not_revocable' | 'disconnected_revocation_failed', { tone: 'success' | 'error'; text: (name: string) => string }> = {
  disconnected: { tone: 'success', text: (name) => `Disconnected from ${name}: Gatehouse deleted your tokens and the provider revoked them.` },
  disconnected_not_revocable: { tone: 'success', text: (name) => `Disconnected from ${name}: Gatehouse deleted your tokens (the provider offers no way to revoke them; remove Gatehouse in your account settings there if you like).` },
  disconnected_revocation_failed: { tone: 'error', text: (name) => `Disconnected from ${name}: Gatehouse deleted your tokens, but the provider did not confirm revoking them; remove Gatehouse in your account settings there.` },
  connected: { tone: 'success', text: (name) => `Connected: calls to ${name} through Gatehouse now run as your account there.` },
  denied: { tone: 'error', text: (name) => `${name}: the sign-in was declined, so nothing was connected.` },
  expired: { tone: 'error', text: () => 'That sign-in link was already used or took too long (10 minutes). Start again with Connect account.' },
  wrong_browser: { tone: 'error', text: (name) => `${name}: the sign-in was started by another Gatehouse user, so it was not connected to your account. Start it yourself with Connect account.` },
  failed: { tone: 'error', text: (name) => `${name}: the provider did not complete the sign-in. Try again; if it keeps failing, ask an administrator (the attempt is in the audit log).` },
  not_allowed: { tone: 'error', text: (name) => `${name} is not available to you, so nothing was connected.` },
};

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export default async function McpConnectionsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireDashboardUser('/mcp-servers/connections');
  if (!(await authorize(dashboardPrincipal(user), 'mcp.use'))) return <AccessDenied permission="mcp.use" tenantWide={false} />;
  const params = await searchParams;
  // Only a registry name is ever echoed: the query string is anyone's to write.
  const named = one(params.server);
  const focus = named !== undefined && SERVER_NAME.test(named) ? named : undefined;
  const resultCode = one(params.result);
  const result = resultCode && Object.hasOwn(RESULTS, resultCode) ? RESULTS[resultCode as keyof typeof RESULTS] : null;
  const [servers, audience] = await Promise.all([listServers(user.tenantId), audienceOf(user.tenantId, user.id)]);
  // Every active oauth_user server in the person's scope, approved or not: an administrator connects before the first check.
  const available = servers.filter((server) => connectable(server, audience));
  const connections = await connectionsOf(available, { userId: user.id, tenantId: user.tenantId });
  const rows: ConnectionRow[] = connections.map(({ server, issuer, grant }) => ({
    name: server.name,
    description: server.description,
    url: server.url ?? '',
    issuer,
    proxyUrl: proxiedServerUrl(server.name),
    connected: grant ? { since: grant.connectedAt.toISOString(), expiresAt: grant.expiresAt?.toISOString() ?? null, scope: grant.scope, renewable: grant.renewable } : null,
    highlighted: server.name === focus,
  }));
  return (
    <>
      <PageHeader
        title="Your MCP connections"
        description="Some MCP servers act as you at their provider (your files, your tickets). Connect your own account once: Gatehouse keeps the tokens encrypted, renews them, and adds them to your calls through the proxy. Claude and the model never see them."
      />
      <div className="space-y-6">
        {result && focus !== undefined ? (
          <p role={result.tone === 'error' ? 'alert' : 'status'} className={`rounded-md border px-3 py-2 text-sm ${result.tone === 'error' ? 'border-rose-200 bg-rose-50 text-rose-800' : 'border-emerald-200 bg-emerald-50 text-emerald-900'}`}>
            {result.text(focus)}
          </p>
        ) : result ? (
          <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800">
            {result.text('the server')}
          </p>
        ) : null}
        <Section title="Servers that act on your behalf" description="Disconnecting deletes your tokens from Gatehouse and asks the provider to revoke them. Every connect and disconnect is recorded in the audit log.">
          <ConnectionsList rows={rows} connect={connectAccountAction} disconnect={disconnectAccountAction} />
        </Section>
      </div>
    </>
  );
}
