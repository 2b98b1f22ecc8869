import { getServerByName } from '@/lib/mcp/registry/read';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { boundClient } from './client';
import type { GrantActor } from './connect';
import { UpstreamOAuthError } from './errors';
import { recordGrantEvent } from './events';
import * as repository from './repository';
import { revokeAtProvider, type UpstreamRevocation } from './revocation';
import { openedTokens } from './tokens';

/** Disconnects the person's account from the server: the grant is deleted, then revoked upstream when the server offers it. */
export async function disconnect(actor: GrantActor, name: string): Promise<{ upstreamRevocation: UpstreamRevocation }> {
  const server = await getServerByName(actor.tenantId, name);
  const row = server ? await repository.deleteGrant(server.id, actor.userId) : null;
  const user = { id: actor.userId, email: actor.email, roles: actor.roles };
  if (!server || !row) {
    await recordGrantEvent({ tenantId: actor.tenantId, user, server: { ...(server ? { id: server.id } : {}), name }, action: 'disconnect', outcome: 'failure', reason: 'not_connected' });
    throw new UpstreamOAuthError(`your account is not connected to "${name}"`, 'not_connected');
  }
  const upstreamRevocation = await revokeAtProvider(server, row, await boundClient(server.id, row));
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
