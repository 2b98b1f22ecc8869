import { cappedFetch } from '@/lib/mcp/registry/capped-fetch';
import { HostUnresolved, OutboundFetchRefused } from '@/lib/platform/outbound/fetch-public';
import { checkUpstreamUrl, upstreamFetch } from '@/lib/platform/outbound/upstream-fetch';
import { UpstreamOAuthError } from './errors';

/** What Gatehouse reads from an authorization server in one request at most (metadata, tokens). */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** How long one request to an authorization server or a metadata document may take. */
export const OAUTH_TIMEOUT_MS = 10_000;

/** The registered server as far as its OAuth network policy goes (a RegisteredServer is one). */
export interface OAuthNetworkPolicy {
  /** The registered server's SSRF allowance, which covers only the origins an administrator typed in. */
  allowPrivateNetwork: boolean;
  /** The server's URL, as registered. */
  url: string | null;
  /** An authorization server the administrator configured for it (the registry's `authorizationServer`). */
  oauth: { authorizationServer?: string } | null;
}

function originOf(url: string | URL): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * Whether a request may reach a private address: only when the server is allowed the private
 * network AND the URL's origin (scheme, host and port) is one an administrator registered — the
 * server's own, or the authorization server configured for it. Anything the upstream names by
 * itself (an authorization server in its RFC 9728 metadata, a resource metadata URL in its 401,
 * endpoints in RFC 8414 metadata on another origin) must be public, so a public or compromised
 * upstream cannot point Gatehouse at an internal address.
 */
export function privateNetworkAllowed(url: string | URL, policy: OAuthNetworkPolicy): boolean {
  if (!policy.allowPrivateNetwork) return false;
  const origin = originOf(url);
  const named = [policy.url, policy.oauth?.authorizationServer].filter((value): value is string => Boolean(value)).map(originOf);
  return origin !== null && named.includes(origin);
}

/**
 * The fetch every OAuth request for a registered server goes through: the registry's SSRF check
 * on every connection (the private network only for origins an administrator named, above), no
 * redirects followed, each response capped and each request timed out. openid-client,
 * oauth4webapi and the MCP SDK's discovery all take it.
 */
export function oauthFetch(policy: OAuthNetworkPolicy) {
  const publicOnly = cappedFetch(upstreamFetch({ allowPrivateNetwork: false }), MAX_RESPONSE_BYTES);
  const privateToo = policy.allowPrivateNetwork ? cappedFetch(upstreamFetch({ allowPrivateNetwork: true }), MAX_RESPONSE_BYTES) : publicOnly;
  return (url: string | URL, init: RequestInit = {}): Promise<Response> =>
    (privateNetworkAllowed(url, policy) ? privateToo : publicOnly)(url, { ...init, signal: init.signal ?? AbortSignal.timeout(OAUTH_TIMEOUT_MS) });
}

/**
 * Plain http is accepted for an authorization server only at an origin that may be private
 * (an internal deployment the administrator named); anything else must send tokens over https.
 */
export function insecureAllowed(url: string | URL, policy: OAuthNetworkPolicy): boolean {
  return new URL(url).protocol === 'http:' && privateNetworkAllowed(url, policy);
}

/**
 * Refuses, before anything is sent there, an authorization server the upstream named that
 * resolves to an address its origin may not reach (private, unless an administrator named the
 * origin; metadata and link-local never). The fetch checks every connection again.
 */
export async function requireReachableAuthorizationServer(issuer: URL, serverName: string, policy: OAuthNetworkPolicy): Promise<void> {
  try {
    await checkUpstreamUrl(issuer.href, { allowPrivateNetwork: privateNetworkAllowed(issuer, policy) });
  } catch (error) {
    if (error instanceof HostUnresolved) throw new UpstreamOAuthError(`the authorization server of "${serverName}" (${issuer.origin}) could not be reached: ${error.message}`, 'authorization_server_unreachable', 'failure');
    if (!(error instanceof OutboundFetchRefused)) throw error;
    // The hint only where naming the origin would help: a private address the policy does not cover yet.
    const hint = policy.allowPrivateNetwork && !privateNetworkAllowed(issuer, policy) ? ': an internal authorization server must be configured by an administrator (the server’s authorizationServer, gatehouse mcp add --authorization-server)' : '';
    throw new UpstreamOAuthError(`the authorization server of "${serverName}" (${issuer.origin}) is refused: ${error.message}${hint}`, 'authorization_server_refused');
  }
}
