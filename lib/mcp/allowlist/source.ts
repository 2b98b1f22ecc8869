import { allowlistSequence, listServers, serverVersions, type RegisteredServer, type ServerVersion } from '@/lib/mcp/registry';
import { audienceOf, includes, type Audience } from '@/lib/rbac/audience';
import type { Principal } from '@/lib/tokens';
import type { RevokedServer, ToolPolicyMap } from './documents';

/**
 * What the allowlist reads from the MCP registry (lib/mcp/registry), the audience rules
 * (lib/rbac/audience) and the tool policy engine (lib/tool-policy), in the shapes it signs.
 */

/** A live server with an approved tool list: what a manifest is made from. */
export type ApprovedServer = RegisteredServer & { approvedVersion: ServerVersion };

export interface TenantRegistry {
  seq: number;
  /** How many servers the tenant has registered, in any state. */
  registered: number;
  approved: ApprovedServer[];
  revoked: RevokedServer[];
  /** Upstream URLs of every registered remote server, live or revoked (clients must reach them only through the proxy). */
  upstreamUrls: string[];
}

/**
 * The tenant's registry as the allowlist speaks of it, numbered by the sequence read *before* it:
 * a change landing in between is then labelled with the older number and issued again under its
 * own as soon as the next request sees the newer sequence (never the other way round).
 */
export async function tenantRegistry(tenantId: string): Promise<TenantRegistry> {
  const seq = Number(await allowlistSequence(tenantId));
  const servers = await listServers(tenantId);
  const approved: ApprovedServer[] = [];
  const revoked: RevokedServer[] = [];
  const upstreamUrls: string[] = [];
  for (const server of servers) {
    if (server.url) upstreamUrls.push(server.url);
    if (server.status === 'revoked') {
      revoked.push({ id: server.id, name: server.name, versions: 'all', ...(server.revoked?.reason ? { reason: server.revoked.reason } : {}) });
      continue;
    }
    // Approved once (so reviewed; a superseded pending list never was), replaced since: a device
    // holding its manifest must drop it.
    const replaced = (await serverVersions(server)).filter((version) => version.status === 'superseded' && version.reviewedBy !== null).map((version) => version.version);
    if (replaced.length) revoked.push({ id: server.id, name: server.name, versions: replaced.sort((a, b) => a - b), reason: 'superseded by a newer approved tool list' });
    if (server.approvedVersion) approved.push(server as ApprovedServer);
  }
  return { seq, registered: servers.length, approved, revoked, upstreamUrls };
}

/** The person as scopes name them (read from the database now), or null when not an active user. */
export function audienceFor(principal: Pick<Principal, 'userId' | 'tenantId'>): Promise<Audience | null> {
  return audienceOf(principal.tenantId, principal.userId);
}

/** Whether a server's scope includes the person (no scope at all = nobody). */
export function inScope(server: RegisteredServer, audience: Audience): boolean {
  return server.scope.some((entry) => includes(entry, audience));
}
