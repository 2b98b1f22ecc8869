/**
 * A person's grant at a registered server: their access token, refreshed when it has expired
 * or the upstream refused it. Refreshing is serialised twice over: once per process (concurrent
 * sessions of this process share one refresh) and across processes by the grant's refresh lease,
 * a column taken and given back in single statements, so no transaction (and no pooled
 * connection) is held while the token endpoint answers; whoever finds the lease taken waits for
 * the tokens its holder stores and uses them, so a rotating refresh token is spent once. The
 * refresh token only ever goes to the authorization server that issued it (boundClient). A
 * refresh the authorization server refuses deletes the grant (the person connects again); one it
 * does not answer leaves it.
 */
import * as oidc from 'openid-client';
import { openUserGrant, sealUserGrant } from '@/lib/mcp/registry/secrets';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { boundClient, configurationFor, type BoundClient } from './client';
import { UpstreamOAuthError } from './errors';
import { recordGrantEvent } from './events';
import * as repository from './repository';
import type { GrantRow } from './repository';
import { revokeUnstoredTokens } from './revocation';

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
/** How long a refresh lease lasts: the token endpoint's timeout (10 s) and the writes around it. */
const REFRESH_LEASE_MS = 15_000;
/** How often a refresher that found the lease taken looks for its holder's tokens. */
const LEASE_POLL_MS = 50;

const refreshing = new Map<string, Promise<GrantLookup>>();

export async function sealTokens(tokens: StoredTokens, serverId: string, userId: string): Promise<string> {
  return sealUserGrant(JSON.stringify(tokens), serverId, userId);
}

/** The grant's tokens as stored (for revocation and the connections page too). */
export async function openedTokens(row: GrantRow): Promise<StoredTokens> {
  return JSON.parse(await openUserGrant(row.sealedTokens, row.serverId, row.userId)) as StoredTokens;
}

async function opened(row: GrantRow): Promise<UserGrant> {
  const tokens = await openedTokens(row);
  return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: row.expiresAt, scope: row.scope };
}

function expired(grant: UserGrant, now = Date.now()): boolean {
  return grant.expiresAt !== null && grant.expiresAt.getTime() - EXPIRY_MARGIN_MS <= now;
}

/** When the token endpoint says the token expires, from its `expires_in`. */
export function expiryOf(expiresIn: number | undefined): Date | null {
  return expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000);
}

type Refreshed = GrantLookup & { failure?: string };

/** Refreshes the leased grant `row`; the lease is given back whatever happens. */
async function refreshLeased(server: RegisteredServer, userId: string, stale: string, row: GrantRow): Promise<Refreshed> {
  const failed = async (failure: string): Promise<Refreshed> => {
    await repository.deleteLeasedGrant(server.id, userId, row.updatedAt);
    return { missing: 'refresh_failed', failure };
  };
  let response: oidc.TokenEndpointResponse;
  let grant: UserGrant;
  let client: BoundClient;
  try {
    grant = await opened(row);
    // Another session (or process) refreshed before this one got the lease.
    if (grant.accessToken !== stale && !expired(grant)) {
      await repository.releaseLease(server.id, userId);
      return { grant };
    }
    if (!grant.refreshToken) return failed('no_refresh_token');
    client = await boundClient(server.id, row);
    if (typeof client === 'string') return failed(client);
    const config = await configurationFor(server, client);
    try {
      response = await oidc.refreshTokenGrant(config, grant.refreshToken, { resource: row.resource });
    } catch (error) {
      // The authorization server answered and said no (invalid_grant: revoked, expired, reused).
      if (error instanceof oidc.ResponseBodyError || error instanceof oidc.WWWAuthenticateChallengeError) return failed(`refresh_refused:${error instanceof oidc.ResponseBodyError ? error.error : 'invalid_client'}`);
      throw new UpstreamOAuthError(`the authorization server of "${server.name}" did not answer Gatehouse's token refresh (${(error as Error).message})`, 'refresh_unreachable');
    }
  } catch (error) {
    await repository.releaseLease(server.id, userId);
    throw error;
  }
  if (response.token_type.toLowerCase() !== 'bearer') return failed(`unsupported_token_type:${response.token_type}`);
  // Without a new refresh token the old one stays valid (RFC 6749 §6); a new one replaces it (rotation).
  const tokens: StoredTokens = { access_token: response.access_token, refresh_token: response.refresh_token ?? grant.refreshToken, token_type: response.token_type };
  const next: UserGrant = { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: expiryOf(response.expires_in), scope: response.scope ?? row.scope };
  const sealedTokens = await sealTokens(tokens, server.id, userId);
  const stored = await repository.storeRefreshed(server.id, userId, { updatedAt: row.updatedAt, issuer: row.issuer }, { sealedTokens, scope: next.scope, expiresAt: next.expiresAt });
  if (stored !== 'stored') {
    // What is stored now wins. Tokens issued for a grant that no longer stands (the server
    // revoked, its authorization server reset, the person disconnected) go back to the provider:
    // the access token, and the refresh token only when it rotated (the old one went with the
    // grant). A grant replaced meanwhile (a reconnect, another process's refresh after the lease
    // ran out) is left alone: at providers such as Google revoking any token of an authorization
    // ends all of it, the grant that won included.
    if (stored !== 'replaced') {
      const issued: StoredTokens = { access_token: tokens.access_token, token_type: tokens.token_type, ...(response.refresh_token && response.refresh_token !== grant.refreshToken ? { refresh_token: response.refresh_token } : {}) };
      revokeUnstoredTokens(server, { ...row, sealedTokens: await sealTokens(issued, server.id, userId) }, client, `refresh_not_stored:${stored}`, 'mcp_proxy');
    }
    const current = await repository.grantOf(server.id, userId);
    return current ? { grant: await opened(current) } : { missing: 'refresh_failed' };
  }
  return { grant: next };
}

/**
 * Refreshes under the grant's lease, unless whoever held it before already replaced `stale`:
 * what each process does (refreshOnce below keeps one per process); tests call it directly to
 * play two processes at once.
 */
export async function refreshGrant(server: RegisteredServer, userId: string, stale: string): Promise<GrantLookup> {
  // A holder that died leaves a lease that runs out: waiting past two of them means something is wrong.
  const deadline = Date.now() + 2 * REFRESH_LEASE_MS;
  let result: Refreshed | undefined;
  while (!result) {
    const leased = await repository.leaseGrant(server.id, userId, REFRESH_LEASE_MS);
    if (!leased) result = { missing: 'refresh_failed' };
    else if (leased.held) result = await refreshLeased(server, userId, stale, leased.row);
    else {
      const grant = await opened(leased.row);
      if (grant.accessToken !== stale && !expired(grant)) result = { grant };
      else if (Date.now() > deadline) throw new UpstreamOAuthError(`the token refresh for "${server.name}" did not finish in time`, 'refresh_unreachable');
      else await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
    }
  }
  if (result.failure) {
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
