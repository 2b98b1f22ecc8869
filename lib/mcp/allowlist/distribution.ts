import { configuredIssuer } from '@/lib/oauth/issuer';
import { authorize } from '@/lib/rbac';
import type { Principal } from '@/lib/tokens';
import { claudeCodeMcpSettings, desktopManagedMcpServers, type JsonObject } from './clients';
import { allowlistFor, organisationAllowlist, proxyUrlOf } from './issue';

/**
 * The allowlist delivered in each client's shape, from the same issued documents as
 * GET /api/v1/mcp/allowlist, so a registry change reaches every client at its next poll:
 *
 * - per person (they poll with their own credential): Claude Code's /managed/settings and
 *   Claude Desktop's bootstrap overlay carry exactly the person's servers and tool policy;
 * - per organisation (an MDM profile or settings file is the same on every device): servers
 *   scoped to everyone, with the tool policy of rules for everyone. Servers scoped to roles,
 *   departments or users need a per-person channel (bootstrap, /managed/settings or
 *   gatehouse-sync's managed-mcp.json); the proxy refuses anyone outside a server's scope.
 *
 * Every function answers null when the tenant has registered no MCP server: clients are then
 * left exactly as they were before the registry existed.
 */

async function mayUseMcp(principal: Principal): Promise<boolean> {
  return authorize(principal, 'mcp.use', { departmentSlug: principal.department });
}

/** The person's part of Claude Code's managed settings (managedMcpServers, allowed and denied servers). */
export async function claudeCodeSettingsFor(principal: Principal, issuer: string = configuredIssuer()): Promise<JsonObject | null> {
  const issued = await allowlistFor(principal, issuer);
  if (!issued.inUse) return null;
  const servers = (await mayUseMcp(principal)) ? issued.servers : [];
  return claudeCodeMcpSettings({ managed: servers, allowed: servers.map((entry) => entry.manifest), upstreamUrls: issued.upstreamUrls, revoked: issued.revoked, proxyUrlOf: (name) => proxyUrlOf(name, issuer) });
}

/** The person's Claude Desktop managedMcpServers entries, each with their tool policy. */
export async function desktopServersFor(principal: Principal, issuer: string = configuredIssuer()): Promise<JsonObject[] | null> {
  const issued = await allowlistFor(principal, issuer);
  if (!issued.inUse) return null;
  return (await mayUseMcp(principal)) ? desktopManagedMcpServers(issued.servers) : [];
}

export interface OrganisationMcpDistribution {
  /** Desktop managedMcpServers entries of the servers scoped to everyone. */
  desktopServers: JsonObject[];
  /** Claude Code settings: servers for everyone delivered; any live server of the organisation allowed (the proxy checks scope); upstreams and revoked servers denied. */
  claudeCodeSettings: JsonObject;
}

export async function organisationMcpDistribution(tenantId: string, issuer: string = configuredIssuer()): Promise<OrganisationMcpDistribution | null> {
  const organisation = await organisationAllowlist(tenantId, issuer);
  if (!organisation.inUse) return null;
  return {
    desktopServers: desktopManagedMcpServers(organisation.everyone),
    claudeCodeSettings: claudeCodeMcpSettings({ managed: organisation.everyone, allowed: organisation.live, upstreamUrls: organisation.upstreamUrls, revoked: organisation.revoked, proxyUrlOf: (name) => proxyUrlOf(name, issuer) }),
  };
}
