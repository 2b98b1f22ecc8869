/**
 * Where a registered server's users sign in, found as the MCP authorization spec says: the
 * server's RFC 9728 Protected Resource Metadata (the URL its 401 names in WWW-Authenticate, else
 * the well-known locations), then the authorization server's RFC 8414 metadata (OpenID discovery
 * as the fallback). The MCP SDK's client helpers read the resource metadata, oauth4webapi the
 * authorization server's (it checks the issuer it names is the one asked). Every request goes
 * through the registry's SSRF-checked fetch.
 */
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { resourceUrlFromServerUrl } from '@modelcontextprotocol/sdk/shared/auth-utils.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import * as oauth from 'oauth4webapi';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { HostUnresolved, OutboundFetchRefused } from '@/lib/platform/outbound/fetch-public';
import { UpstreamOAuthError } from './errors';
import { insecureAllowed, oauthFetch, requireReachableAuthorizationServer } from './http-client';

export interface DiscoveredAuthorization {
  /** RFC 8707 resource indicator: the resource metadata's `resource`, else the server URL. */
  resource: string;
  authorizationServer: oauth.AuthorizationServer;
}

type Fetch = ReturnType<typeof oauthFetch>;

/** What the server answers a request without credentials: the resource metadata URL its 401 names, if any. */
async function challengedMetadataUrl(server: RegisteredServer, fetch: Fetch): Promise<URL | undefined> {
  const url = server.url!;
  const init: RequestInit =
    server.transport === 'sse'
      ? { method: 'GET', headers: { accept: 'text/event-stream' } }
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'gatehouse-discovery', version: '1.0.0' } } }),
        };
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new UpstreamOAuthError(`"${server.name}" could not be reached (${(error as Error).message})`, 'server_unreachable');
  }
  await response.body?.cancel().catch(() => undefined);
  return response.status === 401 ? extractWWWAuthenticateParams(response).resourceMetadataUrl : undefined;
}

/** Two resource identifiers compared as URLs (RFC 8707: no fragment; scheme and host case-insensitive). */
function sameResource(published: string, serverUrl: string): boolean {
  try {
    return resourceUrlFromServerUrl(published).href === resourceUrlFromServerUrl(serverUrl).href;
  } catch {
    return false;
  }
}

async function protectedResource(server: RegisteredServer, fetch: Fetch): Promise<{ resource: string; authorizationServers: string[] } | null> {
  const metadataUrl = await challengedMetadataUrl(server, fetch);
  try {
    const metadata = await discoverOAuthProtectedResourceMetadata(server.url!, metadataUrl ? { resourceMetadataUrl: metadataUrl } : {}, fetch);
    // The document must describe exactly this server (RFC 9728 §3.3): a broader resource (a parent
    // path, the whole origin) would make its tokens good for other servers too.
    if (!sameResource(metadata.resource, server.url!)) {
      throw new UpstreamOAuthError(`"${server.name}" published resource metadata for ${metadata.resource}, not for its own URL`, 'resource_mismatch');
    }
    return { resource: metadata.resource, authorizationServers: metadata.authorization_servers ?? [] };
  } catch (error) {
    if (error instanceof UpstreamOAuthError) throw error;
    // A resource metadata URL the server names that the policy refuses (a private address on
    // another origin) is a refusal, audited as such, not a server that publishes none.
    if (error instanceof OutboundFetchRefused && !(error instanceof HostUnresolved)) {
      throw new UpstreamOAuthError(`the resource metadata of "${server.name}" is refused: ${error.message}`, 'authorization_server_refused');
    }
    // Servers of the 2025-03-26 revision publish none: their own origin is the authorization server.
    return null;
  }
}

async function authorizationServerMetadata(issuer: URL, server: RegisteredServer, fetch: Fetch): Promise<oauth.AuthorizationServer> {
  const insecure = insecureAllowed(issuer, server);
  if (issuer.protocol === 'http:' && !insecure) throw new UpstreamOAuthError(`the authorization server of "${server.name}" (${issuer.origin}) is not https`, 'insecure_authorization_server');
  let lastError: unknown;
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    try {
      const response = await oauth.discoveryRequest(issuer, { algorithm, [oauth.customFetch]: fetch, [oauth.allowInsecureRequests]: insecure });
      const metadata = await oauth.processDiscoveryResponse(issuer, response);
      // PKCE with S256 is what OAuth 2.1 and MCP require; a server that does not say it supports it is not used.
      if (!metadata.code_challenge_methods_supported?.includes('S256')) {
        throw new UpstreamOAuthError(`the authorization server of "${server.name}" does not support PKCE with S256`, 'no_pkce_s256');
      }
      if (!metadata.authorization_endpoint || !metadata.token_endpoint) throw new UpstreamOAuthError(`the authorization server of "${server.name}" publishes no authorization or token endpoint`, 'incomplete_metadata');
      requireSecureEndpoints(metadata, server);
      return metadata;
    } catch (error) {
      if (error instanceof UpstreamOAuthError) throw error;
      lastError = error;
    }
  }
  throw new UpstreamOAuthError(`the authorization server of "${server.name}" (${issuer.origin}) publishes no usable metadata (${(lastError as Error).message})`, 'no_authorization_server_metadata');
}

/**
 * Refuses metadata whose token or revocation endpoint is plain http at an origin an administrator
 * did not name: http being allowed for the issuer's origin must not carry codes, refresh tokens
 * and the client secret in clear to another host the metadata points at. (Registration is checked
 * where it is sent; the authorization endpoint only sees the browser, never a secret.)
 */
export function requireSecureEndpoints(metadata: oauth.AuthorizationServer, server: RegisteredServer): void {
  for (const endpoint of [metadata.token_endpoint, metadata.revocation_endpoint]) {
    if (!endpoint) continue;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UpstreamOAuthError(`the authorization server of "${server.name}" publishes an endpoint that is not a URL`, 'incomplete_metadata');
    }
    if (url.protocol !== 'https:' && !insecureAllowed(url, server)) {
      throw new UpstreamOAuthError(`the authorization server of "${server.name}" publishes an endpoint that is not https (${url.origin})`, 'insecure_authorization_server');
    }
  }
}

/**
 * Discovers the resource and authorization server of an oauth_user server, or throws
 * UpstreamOAuthError. With an issuer `pinned` already, another authorization server named now is
 * refused before anything is sent to it; one the server names itself must be reachable under
 * the OAuth network policy (public, unless an administrator named its origin).
 */
export async function discoverAuthorization(server: RegisteredServer, pinned: string | null = null): Promise<DiscoveredAuthorization> {
  if (!server.url) throw new UpstreamOAuthError(`"${server.name}" has no URL`, 'not_remote');
  const fetch = oauthFetch(server);
  const prm = await protectedResource(server, fetch);
  // An administrator's choice (the registry's authorizationServer) wins over what the server says.
  const issuer = server.oauth?.authorizationServer ?? prm?.authorizationServers[0] ?? new URL(server.url).origin;
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw new UpstreamOAuthError(`"${server.name}" names an authorization server that is not a URL`, 'bad_authorization_server');
  }
  if (pinned !== null && new URL(pinned).href !== issuerUrl.href) throw issuerChanged(server, issuerUrl.href, pinned);
  await requireReachableAuthorizationServer(issuerUrl, server.name, server);
  return { resource: prm?.resource ?? server.url, authorizationServer: await authorizationServerMetadata(issuerUrl, server, fetch) };
}

/** Another authorization server than the pinned one: nobody is sent there until an administrator resets the pin. */
export function issuerChanged(server: RegisteredServer, issuer: string, pinned: string): UpstreamOAuthError {
  return new UpstreamOAuthError(
    `"${server.name}" now names another authorization server (${issuer}, was ${pinned}): Gatehouse does not send anyone there until an administrator approves it (gatehouse mcp reset-oauth ${server.name})`,
    'issuer_changed',
  );
}
