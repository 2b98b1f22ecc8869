import { cappedFetch } from '@/lib/mcp/registry/capped-fetch';
import { upstreamFetch } from '@/lib/platform/outbound/upstream-fetch';

/** What Gatehouse reads from an authorization server in one request at most (metadata, tokens). */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** How long one request to an authorization server or a metadata document may take. */
export const OAUTH_TIMEOUT_MS = 10_000;

export interface OAuthNetworkPolicy {
  /** The registered server's SSRF allowance: its authorization server gets the same, no more. */
  allowPrivateNetwork: boolean;
}

/**
 * The fetch every OAuth request for a registered server goes through: the registry's SSRF check
 * on every connection (the server's own network policy), no redirects followed, each response
 * capped and each request timed out. openid-client and the MCP SDK's discovery both take it.
 */
export function oauthFetch(policy: OAuthNetworkPolicy) {
  const checked = upstreamFetch({ allowPrivateNetwork: policy.allowPrivateNetwork });
  return (url: string | URL, init: RequestInit = {}): Promise<Response> =>
    cappedFetch(checked, MAX_RESPONSE_BYTES)(url, { ...init, signal: init.signal ?? AbortSignal.timeout(OAUTH_TIMEOUT_MS) });
}

/**
 * Plain http is accepted for an authorization server only where the registry already accepts a
 * private network for the server (an internal deployment); a server on the public network must
 * send its users' tokens over https.
 */
export function insecureAllowed(url: string | URL, policy: OAuthNetworkPolicy): boolean {
  return new URL(url).protocol === 'http:' && policy.allowPrivateNetwork;
}
