import * as oidc from 'openid-client';
import { getServerByName } from '@/lib/mcp/registry/read';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { boundClient, configurationFor } from './client';
import type { GrantActor } from './connect';
import { UpstreamOAuthError } from './errors';
import { recordGrantEvent } from './events';
import * as repository from './repository';
import { openedTokens } from './tokens';

/**
 * Revokes the tokens at the authorization server (RFC 7009) when it advertises a revocation
 * endpoint: the refresh token first (revoking it ends the grant at most servers), then the access
 * token. Best effort: the grant is already gone from Gatehouse; what happened is returned for the
 * audit trail. Tokens go only to the pinned issuer they came from, through the client they were
 * issued to (a changed authorization server gets nothing: 'not_advertised').
 */
async function revokeUpstream(server: RegisteredServer, row: repository.GrantRow): Promise<'revoked' | 'not_advertised' | 'failed'> {
  const client = await boundClient(server.id, row);
  const metadata = typeof client === 'string' ? undefined : (client.metadata as { revocation_endpoint?: string });
  if (typeof client === 'string' || !metadata?.revocation_endpoint) return 'not_advertised';
  try {
    const tokens = await openedTokens(row);
    const config = await configurationFor(server, client);
    if (tokens.refresh_token) await oidc.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    await oidc.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    return 'revoked';
  } catch (error) {
    console.error(`mcp upstream oauth: revoking ${server.name} tokens at the authorization server failed: ${(error as Error).message}`);
    return 'failed';
  }
}

/** Disconnects the person's account from the server: the grant is deleted, then revoked upstream when the server offers it. */
export async function disconnect(actor: GrantActor, name: string): Promise<{ upstreamRevocation: 'revoked' | 'not_advertised' | 'failed' }> {
  const server = await getServerByName(actor.tenantId, name);
  const row = server ? await repository.deleteGrant(server.id, actor.userId) : null;
  const user = { id: actor.userId, email: actor.email, roles: actor.roles };
  if (!server || !row) {
    await recordGrantEvent({ tenantId: actor.tenantId, user, server: { ...(server ? { id: server.id } : {}), name }, action: 'disconnect', outcome: 'failure', reason: 'not_connected' });
    throw new UpstreamOAuthError(`your account is not connected to "${name}"`, 'not_connected');
  }
  const upstreamRevocation = await revokeUpstream(server, row);
  await recordGrantEvent({ tenantId: actor.tenantId, user, server, action: 'disconnect', outcome: 'success', attributes: { upstream_revocation: upstreamRevocation } });
  return { upstreamRevocation };
}

export interface Connection {
  server: RegisteredServer;
  /** The authorization server people sign in to: the grant's issuer, else the pinned one (null before anyone connected). */
  issuer: string | null;
  /** Null: not connected. */
  grant: { connectedAt: Date; expiresAt: Date | null; scope: string; renewable: boolean } | null;
}

/** The oauth_user servers this person may use, each with their grant if they have one (the dashboard's connections page). */
export async function connectionsOf(servers: readonly RegisteredServer[], actor: Pick<GrantActor, 'userId' | 'tenantId'>): Promise<Connection[]> {
  const grants = new Map((await repository.grantsOfUser(actor.tenantId, actor.userId)).map((row) => [row.serverId, row]));
  const connections: Connection[] = [];
  for (const server of servers) {
    if (server.upstreamAuth !== 'oauth_user') continue;
    const row = grants.get(server.id);
    const renewable = row ? Boolean((await openedTokens(row)).refresh_token) : false;
    connections.push({ server, issuer: row?.issuer ?? (await repository.pinnedIssuer(server.id)), grant: row ? { connectedAt: row.createdAt, expiresAt: row.expiresAt, scope: row.scope, renewable } : null });
  }
  return connections;
}
