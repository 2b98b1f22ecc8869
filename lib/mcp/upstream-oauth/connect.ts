/**
 * Connecting a person's account at a registered oauth_user server: an OAuth 2.1 authorization
 * code flow with PKCE (S256) and the RFC 8707 resource indicator, started from the dashboard
 * and finished by the callback (http.ts). The pending request is stored under the SHA-256 of its
 * state with its verifier sealed, used once, for ten minutes, and bound to the person who started
 * it: the callback completes only in that person's signed-in browser, so a consent link sent to
 * someone else cannot attach their upstream account to the sender's Gatehouse user.
 */
import * as oidc from 'openid-client';
import { getServerById, getServerByName } from '@/lib/mcp/registry/read';
import { openPkceVerifier, sealPkceVerifier } from '@/lib/mcp/registry/secrets';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { audienceOf, includes, type Audience } from '@/lib/rbac/audience';
import { authorize } from '@/lib/rbac/authorize';
import { hashSecret } from '@/lib/oauth/secrets';
import { boundClient, configurationFor, prepareClient } from './client';
import { UpstreamOAuthError } from './errors';
import { recordGrantEvent } from './events';
import { revokeUnstoredTokens } from './revocation';
import * as repository from './repository';
import { expiryOf, sealTokens } from './tokens';

/** How long a person has to get through the upstream's sign-in and consent. */
const PENDING_MS = 10 * 60_000;
/**
 * Each start discovers, may register a client and stores a row: a person may have this many
 * authorizations pending, and start this many per minute (the rows are the count, so every
 * process agrees).
 */
const MAX_PENDING = 20;
const MAX_STARTS_PER_MINUTE = 10;

export interface GrantActor {
  userId: string;
  tenantId: string;
  email: string;
  roles: string[];
}

function inScope(server: RegisteredServer, audience: Audience | null): boolean {
  return audience !== null && server.scope.some((entry) => includes(entry, audience));
}

/** An active oauth_user server in the person's scope: one they may connect to (what the connections page lists). */
export function connectable(server: RegisteredServer, audience: Audience | null): boolean {
  return server.status === 'active' && server.upstreamAuth === 'oauth_user' && inScope(server, audience);
}

/**
 * Why this person may not connect to this server now, or null: it must be an active remote
 * oauth_user server whose scope includes them, and they must hold mcp.use (what the proxy asks).
 */
async function refusal(actor: Pick<GrantActor, 'userId' | 'tenantId'>, name: string, server: RegisteredServer | null): Promise<string | null> {
  if (!server) return `no MCP server named "${name}" is registered`;
  if (!inScope(server, await audienceOf(actor.tenantId, actor.userId))) return `the MCP server "${name}" is not available to you`;
  if (server.status !== 'active') return `the MCP server "${name}" was revoked`;
  if (server.upstreamAuth !== 'oauth_user') return `"${name}" does not sign in on your behalf: there is no account to connect`;
  if (!(await authorize({ userId: actor.userId, tenantId: actor.tenantId }, 'mcp.use'))) return 'you may not use MCP servers through Gatehouse (mcp.use)';
  return null;
}

async function refuse(actor: GrantActor, name: string, server: RegisteredServer | null, reason: string, message: string, outcome: 'denied' | 'failure' = 'denied'): Promise<never> {
  await recordGrantEvent({ tenantId: actor.tenantId, user: { id: actor.userId, email: actor.email, roles: actor.roles }, server: { ...(server ? { id: server.id } : {}), name }, action: 'connect', outcome, reason, attributes: { message } });
  throw new UpstreamOAuthError(message, reason, outcome);
}

/**
 * Starts connecting: discovers the server's authorization server, registers Gatehouse there if
 * needed, stores the pending request and returns the authorization URL to send the browser to.
 * Refusals and failures are audited and thrown as UpstreamOAuthError (message for the person).
 */
export async function startConnect(actor: GrantActor, name: string): Promise<URL> {
  const server = await getServerByName(actor.tenantId, name);
  const refused = await refusal(actor, name, server);
  if (refused || !server) return refuse(actor, name, server, 'not_allowed', refused ?? 'unknown server');
  await repository.pruneAuthorizations(new Date());
  const counts = await repository.pendingCounts(actor.tenantId, actor.userId, new Date(Date.now() - 60_000));
  if (counts.pending >= MAX_PENDING || counts.recent >= MAX_STARTS_PER_MINUTE) {
    return refuse(actor, name, server, 'rate_limited', 'you started too many connections just now: finish or wait for the ones in progress, then try again in a minute');
  }
  let client: repository.ClientRow;
  let config: oidc.Configuration;
  try {
    client = await prepareClient(server);
    config = await configurationFor(server, client);
  } catch (error) {
    if (error instanceof UpstreamOAuthError) return refuse(actor, name, server, error.reason, error.message, error.outcome);
    throw error;
  }
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const hash = hashSecret(state);
  await repository.insertAuthorization({
    stateHash: hash,
    tenantId: actor.tenantId,
    serverId: server.id,
    userId: actor.userId,
    clientId: client.clientId,
    issuer: client.issuer,
    resource: client.resource,
    sealedVerifier: await sealPkceVerifier(verifier, hash),
    expiresAt: new Date(Date.now() + PENDING_MS),
  });
  return oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirectUri,
    response_type: 'code',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    resource: client.resource,
    ...(server.oauth?.scope ? { scope: server.oauth.scope } : {}),
  });
}

/** How a callback ended, as the connections page tells it (fixed messages, never text from the request). */
export type ConnectResult = 'connected' | 'denied' | 'expired' | 'wrong_browser' | 'failed' | 'not_allowed';

export interface CallbackOutcome {
  result: ConnectResult;
  serverName: string | null;
}

/**
 * Finishes connecting: `callbackUrl` is the URL the authorization server sent the browser to,
 * `signedIn` whoever that browser is signed in to Gatehouse as. Exchanges the code (openid-client
 * checks state, the RFC 9207 `iss` when the server supports it, and sends the PKCE verifier and
 * the resource), stores the tokens sealed for (server, person) and audits the outcome.
 */
export async function completeConnect(callbackUrl: URL, signedIn: GrantActor | null): Promise<CallbackOutcome> {
  const state = callbackUrl.searchParams.get('state');
  const pending = state ? await repository.consumeAuthorization(hashSecret(state)) : null;
  // An unknown state names nobody to record it against (a replayed or forged callback).
  if (!state || !pending) return { result: 'expired', serverName: null };
  if (pending.expiresAt.getTime() < Date.now()) {
    await recordGrantEvent({ tenantId: pending.tenantId, user: { id: pending.userId }, server: { id: pending.serverId, name: (await getServerById(pending.tenantId, pending.serverId))?.name ?? 'unknown' }, action: 'connect', outcome: 'denied', reason: 'authorization_expired' });
    return { result: 'expired', serverName: null };
  }
  const server = await getServerById(pending.tenantId, pending.serverId);
  const name = server?.name ?? 'unknown';
  const actor: GrantActor = signedIn && signedIn.userId === pending.userId ? signedIn : { userId: pending.userId, tenantId: pending.tenantId, email: '', roles: [] };
  const audit = (outcome: 'success' | 'failure' | 'denied', reason?: string, attributes: Record<string, string | number | boolean> = {}) =>
    recordGrantEvent({ tenantId: pending.tenantId, user: { id: actor.userId, email: actor.email || undefined, roles: actor.roles }, server: { ...(server ? { id: server.id } : {}), name }, action: 'connect', outcome, ...(reason ? { reason } : {}), attributes });
  // Another browser (or none signed in) came back with this person's consent: not theirs to finish.
  if (!signedIn || signedIn.userId !== pending.userId || signedIn.tenantId !== pending.tenantId) {
    await audit('denied', 'browser_session_mismatch');
    return { result: 'wrong_browser', serverName: name };
  }
  const refused = await refusal(actor, name, server);
  if (refused || !server) {
    await audit('denied', 'not_allowed', { message: refused ?? 'unknown server' });
    return { result: 'not_allowed', serverName: name };
  }
  const upstreamError = callbackUrl.searchParams.get('error');
  if (upstreamError) {
    // The person declined, or the authorization server refused the request: its error code only (its description is its text, not ours).
    await audit(upstreamError === 'access_denied' ? 'denied' : 'failure', `authorization_error:${upstreamError.slice(0, 100)}`);
    return { result: upstreamError === 'access_denied' ? 'denied' : 'failed', serverName: name };
  }
  // The code goes only to the issuer and client the request was made for, and only while that issuer is still the pinned one.
  const client = await boundClient(server.id, pending);
  if (typeof client === 'string') {
    await audit('failure', client);
    return { result: 'failed', serverName: name };
  }
  const current = new URL(client.redirectUri);
  current.search = callbackUrl.search;
  try {
    const config = await configurationFor(server, client);
    const verifier = await openPkceVerifier(pending.sealedVerifier, pending.stateHash);
    const response = await oidc.authorizationCodeGrant(config, current, { pkceCodeVerifier: verifier, expectedState: state }, { resource: client.resource });
    if (response.token_type.toLowerCase() !== 'bearer') throw new UpstreamOAuthError(`unsupported token type ${response.token_type}`, 'unsupported_token_type');
    const tokens = { access_token: response.access_token, ...(response.refresh_token ? { refresh_token: response.refresh_token } : {}), token_type: response.token_type };
    const grant = {
      serverId: server.id,
      userId: pending.userId,
      tenantId: pending.tenantId,
      clientId: client.clientId,
      issuer: client.issuer,
      resource: client.resource,
      sealedTokens: await sealTokens(tokens, server.id, pending.userId),
      scope: response.scope ?? '',
      expiresAt: expiryOf(response.expires_in),
    };
    if (!(await repository.saveGrant(grant))) {
      // The server was revoked, or its authorization server reset, while the code was exchanged:
      // nothing is stored, and the tokens just issued go back to the provider (in the background,
      // recorded as a revoke grant event).
      revokeUnstoredTokens(server, { ...grant, createdAt: new Date(), updatedAt: new Date() }, client, 'connect_not_stored', 'dashboard');
      await audit('denied', 'not_allowed', { message: `the MCP server "${name}" was revoked or its authorization server reset meanwhile` });
      return { result: 'not_allowed', serverName: name };
    }
    await audit('success', undefined, { issuer: client.issuer, scope: (response.scope ?? '').slice(0, 1000), refresh_token: Boolean(response.refresh_token), dynamic_client: client.dynamic });
    return { result: 'connected', serverName: name };
  } catch (error) {
    const reason = error instanceof UpstreamOAuthError ? error.reason : error instanceof oidc.ResponseBodyError ? `token_error:${error.error}` : error instanceof oidc.AuthorizationResponseError ? `authorization_error:${error.error}` : 'exchange_failed';
    console.error(`mcp upstream oauth: connecting ${name} failed: ${(error as Error).message}`);
    await audit('failure', reason);
    return { result: 'failed', serverName: name };
  }
}
