/**
 * A person's grant at a registered server: their access token, refreshed when it has expired
 * or the upstream refused it. Refreshing is serialised twice over: once per process (concurrent
 * sessions of this process share one refresh) and across processes by the grant's row lock, held
 * while the token endpoint answers; whoever gets the lock second finds the tokens the first stored
 * and uses them, so a rotating refresh token is spent once. A refresh the authorization server
 * refuses deletes the grant (the person connects again); one it does not answer leaves it.
 */
import * as oidc from 'openid-client';
import { openUserGrant, sealUserGrant } from '@/lib/mcp/registry/secrets';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { configurationFor } from './client';
import { UpstreamOAuthError } from './errors';
import { recordGrantEvent } from './events';
import * as repository from './repository';
import type { GrantRow } from './repository';

/** What the sealed column holds. */
interface StoredTokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
}

export interface UserGrant {
  accessToken: string;
  refreshToken: string | undefined;
  expiresAt: Date | null;
  scope: string;
}

export type GrantLookup = { grant: UserGrant } | { missing: 'no_grant' | 'refresh_failed' };

/** A token this close to its expiry is refreshed before use (the request must still arrive in time). */
const EXPIRY_MARGIN_MS = 30_000;
/** How long a refresh may hold the grant's row lock (the token endpoint's timeout is 10 s). */
const REFRESH_LOCK_MS = 30_000;

const refreshing = new Map<string, Promise<GrantLookup>>();

export async function sealTokens(tokens: StoredTokens, serverId: string, userId: string): Promise<string> {
  return sealUserGrant(JSON.stringify(tokens), serverId, userId);
}

async function opened(row: GrantRow): Promise<UserGrant> {
  const tokens = JSON.parse(await openUserGrant(row.sealedTokens, row.serverId, row.userId)) as StoredTokens;
  return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: row.expiresAt, scope: row.scope };
}

function expired(grant: UserGrant, now = Date.now()): boolean {
  return grant.expiresAt !== null && grant.expiresAt.getTime() - EXPIRY_MARGIN_MS <= now;
}

/** When the token endpoint says the token expires, from its `expires_in`. */
export function expiryOf(expiresIn: number | undefined): Date | null {
  return expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000);
}

/**
 * Refreshes under the grant's row lock, unless whoever held the lock before already replaced
 * `stale`: what each process does (refreshOnce below keeps one per process); tests call it
 * directly to play two processes at once.
 */
export async function refreshGrant(server: RegisteredServer, userId: string, stale: string): Promise<GrantLookup> {
  const result = await repository.withLockedGrant(server.id, userId, REFRESH_LOCK_MS, async (row, tx): Promise<GrantLookup & { failure?: string; refreshed?: boolean }> => {
    if (!row) return { missing: 'refresh_failed' };
    const grant = await opened(row);
    // Another session (or process) refreshed while this one waited for the lock.
    if (grant.accessToken !== stale && !expired(grant)) return { grant };
    const client = await repository.clientOf(server.id);
    const failed = async (failure: string): Promise<GrantLookup & { failure: string }> => {
      await repository.deleteGrantIn(tx, server.id, userId);
      return { missing: 'refresh_failed', failure };
    };
    if (!grant.refreshToken) return failed('no_refresh_token');
    if (!client || client.clientId !== row.clientId) return failed('client_changed');
    const config = await configurationFor(server, client);
    let response: oidc.TokenEndpointResponse;
    try {
      response = await oidc.refreshTokenGrant(config, grant.refreshToken, { resource: client.resource });
    } catch (error) {
      // The authorization server answered and said no (invalid_grant: revoked, expired, reused).
      if (error instanceof oidc.ResponseBodyError || error instanceof oidc.WWWAuthenticateChallengeError) return failed(`refresh_refused:${error instanceof oidc.ResponseBodyError ? error.error : 'invalid_client'}`);
      throw new UpstreamOAuthError(`the authorization server of "${server.name}" did not answer Gatehouse's token refresh (${(error as Error).message})`, 'refresh_unreachable');
    }
    if (response.token_type.toLowerCase() !== 'bearer') return failed(`unsupported_token_type:${response.token_type}`);
    // Without a new refresh token the old one stays valid (RFC 6749 §6); a new one replaces it (rotation).
    const tokens: StoredTokens = { access_token: response.access_token, refresh_token: response.refresh_token ?? grant.refreshToken, token_type: response.token_type };
    const next: UserGrant = { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: expiryOf(response.expires_in), scope: response.scope ?? row.scope };
    await repository.updateGrantTokens(tx, server.id, userId, { sealedTokens: await sealTokens(tokens, server.id, userId), scope: next.scope, expiresAt: next.expiresAt });
    return { grant: next, refreshed: true };
  });
  if ('failure' in result && result.failure) {
    await recordGrantEvent({ tenantId: server.tenantId, user: { id: userId }, server, action: 'refresh', outcome: 'failure', reason: result.failure, callSource: 'mcp_proxy' });
  }
  return 'grant' in result ? { grant: result.grant } : { missing: result.missing };
}

function refreshOnce(server: RegisteredServer, userId: string, stale: string): Promise<GrantLookup> {
  const key = `${server.id}/${userId}`;
  const running = refreshing.get(key);
  if (running) return running;
  const started = refreshGrant(server, userId, stale).finally(() => refreshing.delete(key));
  refreshing.set(key, started);
  return started;
}

/**
 * The person's usable grant for the server: the stored access token, refreshed first when it has
 * expired or is the `rejected` one (a token the upstream just answered 401 to).
 */
export async function currentGrant(server: RegisteredServer, userId: string, rejected?: string): Promise<GrantLookup> {
  const row = await repository.grantOf(server.id, userId);
  if (!row) return { missing: 'no_grant' };
  const grant = await opened(row);
  if (rejected === undefined ? !expired(grant) : grant.accessToken !== rejected) return { grant };
  return refreshOnce(server, userId, grant.accessToken);
}
