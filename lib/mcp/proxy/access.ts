/**
 * Whether this caller may use this registered server now, decided on every request of a session
 * (not only when it opens), so a revocation, a scope change or a removed role takes effect on
 * the next message: the server must exist, be active, remote, have an approved tool list, and
 * its scope must include the user as the database has them now.
 *
 * One read per request: the tenant's two sequences (one row). The server is read again only when
 * the allowlist sequence moved, the user's audience only when the audience sequence moved (the
 * database moves it on any change to anyone's department, status or roles).
 */
import { accessSequences, audienceOf, getServerByName, type Audience, type RegisteredServer } from '@/lib/mcp/registry';
import { includes } from '@/lib/rbac/audience';
import type { McpCaller } from '../caller';
import { McpHttpError } from '../errors';
import { countSessionRefusal } from './evidence';

export interface ProxyAccess {
  server: RegisteredServer;
  /** The user's department id and role names as of this request. */
  audience: Audience;
}

/** Audited (counted) and thrown as the HTTP answer. */
function refuse(caller: McpCaller, name: string, server: RegisteredServer | null, rule: string, status: number, message: string): never {
  countSessionRefusal({ caller, serverName: name, ...(server ? { serverId: server.id } : {}), rule, reason: message, status });
  throw new McpHttpError(status, message, {}, status === 404 ? -32601 : -32000);
}

/**
 * Servers as last read, with the tenant's allowlist sequence at the time. Every registry change
 * (revoke, scope, approval) bumps the sequence in its own transaction, so reading the sequence
 * (one row) tells whether the server must be read again (several queries).
 */
const servers = new Map<string, { sequence: bigint; server: RegisteredServer | null }>();
const MAX_CACHED_SERVERS = 5_000;
/** Users' audiences (null: unknown or disabled) as read at the tenant's audience sequence. */
const audiences = new Map<string, { sequence: bigint; audience: Audience | null }>();
const MAX_CACHED_AUDIENCES = 20_000;

async function currentServer(tenantId: string, name: string, sequence: bigint): Promise<RegisteredServer | null> {
  const key = `${tenantId}/${name}`;
  const cached = servers.get(key);
  if (cached && cached.sequence === sequence) return cached.server;
  // Read after the sequence: a change committed in between is at least as new as what is stored.
  const server = await getServerByName(tenantId, name);
  if (servers.size >= MAX_CACHED_SERVERS) servers.clear();
  servers.set(key, { sequence, server });
  return server;
}

async function currentAudience(tenantId: string, userId: string, sequence: bigint): Promise<Audience | null> {
  const key = `${tenantId}/${userId}`;
  const cached = audiences.get(key);
  if (cached && cached.sequence === sequence) return cached.audience;
  // Read after the sequence, as above: never an older audience under a newer number.
  const audience = await audienceOf(tenantId, userId);
  if (audiences.size >= MAX_CACHED_AUDIENCES) audiences.clear();
  audiences.set(key, { sequence, audience });
  return audience;
}

export async function resolveAccess(caller: McpCaller, name: string): Promise<ProxyAccess> {
  const { principal } = caller;
  const sequences = await accessSequences(principal.tenantId);
  const [server, audience] = await Promise.all([currentServer(principal.tenantId, name, sequences.allowlist), currentAudience(principal.tenantId, principal.userId, sequences.audience)]);
  // The same answer for a name that was never registered and one in another tenant.
  if (!server) refuse(caller, name, null, 'mcp_proxy.unknown_server', 404, `no MCP server named "${name}" is registered in Gatehouse`);
  // Scope first, and without naming it: whom a server is for (people's addresses among them) and
  // why it was revoked are not for those outside it.
  if (!audience || !server.scope.some((entry) => includes(entry, audience))) {
    refuse(caller, name, server, 'mcp_proxy.scope', 403, `the MCP server "${name}" is not available to you (you are outside its scope)`);
  }
  if (server.status !== 'active') refuse(caller, name, server, 'mcp_proxy.revoked', 403, `the MCP server "${name}" was revoked${server.revoked?.reason ? `: ${server.revoked.reason}` : ''}`);
  if (server.transport === 'stdio') refuse(caller, name, server, 'mcp_proxy.stdio', 400, `"${name}" is a local (stdio) server: it runs on your device, not through Gatehouse`);
  if (!server.approvedVersion) refuse(caller, name, server, 'mcp_proxy.not_approved', 403, `the MCP server "${name}" has no approved tool list yet; an administrator must approve it first`);
  return { server, audience };
}
