/**
 * Gatehouse as an OAuth client of a registered server's authorization server: the client id an
 * administrator configured in the registry, else one Gatehouse registers itself by Dynamic
 * Client Registration (RFC 7591) and keeps (its secret sealed) until the authorization server or
 * the callback URL changes. openid-client does the protocol from there, through the registry's
 * SSRF-checked fetch.
 *
 * The first connection pins the authorization server (its issuer): a server whose metadata later
 * names another one is refused until an administrator resets the pin (resetUpstreamIssuer), and
 * tokens only ever go back to the issuer, client and resource they were obtained for (boundClient),
 * so a new authorization server never sees anyone's tokens or the client secret.
 */
import * as oidc from 'openid-client';
import * as oauth from 'oauth4webapi';
import { openRegisteredClientSecret, sealRegisteredClientSecret } from '@/lib/mcp/registry/secrets';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { openedOAuthClientSecret } from '@/lib/mcp/registry/upstream';
import { configuredIssuer } from '@/lib/oauth/issuer';
import { discoverAuthorization, issuerChanged, requireSecureEndpoints } from './discovery';
import { UpstreamOAuthError } from './errors';
import { insecureAllowed, OAUTH_TIMEOUT_MS, oauthFetch } from './http-client';
import * as repository from './repository';
import type { ClientRow } from './repository';

/** Where authorization servers send people back to (a data-plane route, lib/mcp/upstream-oauth/http.ts). */
export const UPSTREAM_CALLBACK_PATH = '/mcp/oauth/callback';

export function upstreamCallbackUrl(issuer: string = configuredIssuer()): string {
  return `${issuer}${UPSTREAM_CALLBACK_PATH}`;
}

/** How Gatehouse authenticates at the token endpoint: with a secret when it has one (basic unless only post is offered), else as a public client. */
function authMethod(metadata: oauth.AuthorizationServer, hasSecret: boolean): 'client_secret_basic' | 'client_secret_post' | 'none' {
  // RFC 8414: absent means client_secret_basic.
  const supported = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (hasSecret) return supported.includes('client_secret_basic') || !supported.includes('client_secret_post') ? 'client_secret_basic' : 'client_secret_post';
  return 'none';
}

/** The method to register with: a confidential client where the server takes one (Gatehouse keeps secrets server-side), else public. */
function registrationMethod(metadata: oauth.AuthorizationServer): 'client_secret_basic' | 'client_secret_post' | 'none' {
  const supported = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (supported.includes('client_secret_basic')) return 'client_secret_basic';
  if (supported.includes('client_secret_post')) return 'client_secret_post';
  if (supported.includes('none')) return 'none';
  throw new UpstreamOAuthError(`the authorization server offers no client authentication Gatehouse supports (${supported.join(', ')})`, 'unsupported_client_auth');
}

async function register(server: RegisteredServer, metadata: oauth.AuthorizationServer, redirectUri: string): Promise<{ clientId: string; sealedClientSecret: string | null }> {
  if (!metadata.registration_endpoint) {
    throw new UpstreamOAuthError(`"${server.name}" has no OAuth client id configured and its authorization server offers no dynamic client registration: an administrator must register Gatehouse there and add the client id`, 'no_registration_endpoint');
  }
  const method = registrationMethod(metadata);
  let registered: oauth.OmitSymbolProperties<oauth.Client>;
  try {
    const response = await oauth.dynamicClientRegistrationRequest(
      metadata,
      {
        client_name: 'Gatehouse',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: method,
        application_type: 'web',
        ...(server.oauth?.scope ? { scope: server.oauth.scope } : {}),
      },
      { [oauth.customFetch]: oauthFetch(server), [oauth.allowInsecureRequests]: insecureAllowed(metadata.registration_endpoint, server) },
    );
    registered = await oauth.processDynamicClientRegistrationResponse(response);
  } catch (error) {
    throw new UpstreamOAuthError(`registering Gatehouse at the authorization server of "${server.name}" failed (${(error as Error).message})`, 'registration_failed');
  }
  const secret = typeof registered.client_secret === 'string' ? registered.client_secret : null;
  return { clientId: registered.client_id, sealedClientSecret: secret ? await sealRegisteredClientSecret(secret, server.id) : null };
}

/**
 * Discovers the server's authorization server again and makes sure Gatehouse is a client there
 * (at the start of every connection, which is rare: metadata changes are picked up then).
 */
export async function prepareClient(server: RegisteredServer): Promise<ClientRow> {
  const discovered = await discoverAuthorization(server, await repository.pinnedIssuer(server.id));
  const metadata = discovered.authorizationServer;
  const pinned = await repository.pinIssuer(server.id, metadata.issuer);
  if (pinned !== metadata.issuer) throw issuerChanged(server, metadata.issuer, pinned);
  const redirectUri = upstreamCallbackUrl();
  const existing = await repository.clientOf(server.id, metadata.issuer);
  const configured = server.oauth?.clientId;
  let client: Pick<ClientRow, 'clientId' | 'sealedClientSecret' | 'dynamic'>;
  if (configured) client = { clientId: configured, sealedClientSecret: null, dynamic: false };
  else if (existing?.dynamic && existing.issuer === metadata.issuer && existing.redirectUri === redirectUri) client = existing;
  else client = { ...(await register(server, metadata, redirectUri)), dynamic: true };
  const row: ClientRow = { serverId: server.id, issuer: metadata.issuer, resource: discovered.resource, metadata: JSON.parse(JSON.stringify(metadata)), redirectUri, ...client };
  await repository.saveClient(row);
  return row;
}

/** What tokens (a grant, a pending authorization) were obtained for: only that client may use them. */
export interface TokenBinding {
  issuer: string;
  clientId: string;
  resource: string;
}

/**
 * The client row tokens bound to `binding` may be sent with, or why not: the issuer must still be
 * the pinned one and its client the same client for the same resource (fails closed).
 */
export async function boundClient(serverId: string, binding: TokenBinding): Promise<BoundClient> {
  return clientBoundTo(await repository.pinnedIssuer(serverId), await repository.clientOf(serverId, binding.issuer), binding);
}

export type BoundClient = ClientRow | 'issuer_changed' | 'client_changed';

/** The same decision from a pin and client rows read earlier (grants an administrator deleted together with them). */
export function clientBoundTo(pinned: string | null, client: ClientRow | null | undefined, binding: TokenBinding): BoundClient {
  if (pinned !== binding.issuer) return 'issuer_changed';
  if (!client || client.issuer !== binding.issuer || client.clientId !== binding.clientId || client.resource !== binding.resource) return 'client_changed';
  return client;
}

/** The client's secret: the one Gatehouse registered, or the one an administrator configured (sealed in the registry). */
async function clientSecret(server: RegisteredServer, row: ClientRow): Promise<string | undefined> {
  if (row.dynamic) return row.sealedClientSecret ? openRegisteredClientSecret(row.sealedClientSecret, server.id) : undefined;
  return openedOAuthClientSecret(server);
}

/**
 * openid-client's configuration for the stored client: its authentication, the SSRF-checked
 * fetch, http only where allowed. `deadline` aborts every request it makes once it fires (a
 * batch of revocations bounded as a whole).
 */
export async function configurationFor(server: RegisteredServer, row: ClientRow, deadline?: AbortSignal): Promise<oidc.Configuration> {
  const metadata = row.metadata as unknown as oauth.AuthorizationServer;
  // Stored before endpoints were checked one by one, or under another policy: checked again here.
  requireSecureEndpoints(metadata, server);
  const secret = await clientSecret(server, row);
  const method = authMethod(metadata, secret !== undefined);
  const authentication = secret === undefined ? oidc.None() : method === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
  const config = new oidc.Configuration(metadata as oidc.ServerMetadata, row.clientId, { ...(secret !== undefined ? { client_secret: secret } : {}), token_endpoint_auth_method: method }, authentication);
  const fetch = oauthFetch(server);
  // openid-client sends string or URLSearchParams bodies; the byte form is the same request.
  config[oidc.customFetch] = (url, options) =>
    fetch(url, { ...options, body: options.body instanceof Uint8Array ? Buffer.from(options.body) : options.body, ...(deadline ? { signal: options.signal ? AbortSignal.any([options.signal, deadline]) : deadline } : {}) });
  config.timeout = OAUTH_TIMEOUT_MS / 1000;
  // Every endpoint openid-client may call is https or at an origin an administrator named (above).
  if (insecureAllowed(row.issuer, server)) oidc.allowInsecureRequests(config);
  return config;
}
