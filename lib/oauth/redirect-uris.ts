/**
 * Redirect URI rules. Registration decides what a client may use; authorization then requires an
 * exact match, except that a loopback URI may use any port (RFC 8252 §7.3), because native apps
 * listen on whatever port is free.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
// Never acceptable as a redirect target: they run code or read local data in the browser.
const FORBIDDEN_SCHEMES = new Set(['javascript', 'data', 'vbscript', 'file', 'blob', 'about', 'filesystem', 'view-source', 'ws', 'wss', 'ftp']);
const MAX_REDIRECT_URI_LENGTH = 2000;

export interface RedirectUriPolicy {
  /** Custom (private-use) schemes allowed, lower-case without `:`; 'any' for admin-created clients. */
  customSchemes: readonly string[] | 'any';
}

function parse(uri: string): URL | null {
  try {
    return new URL(uri);
  } catch {
    return null;
  }
}

export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/** Why a redirect URI cannot be registered, or null when it can. */
export function redirectUriProblem(uri: string, policy: RedirectUriPolicy): string | null {
  if (uri.length === 0 || uri.length > MAX_REDIRECT_URI_LENGTH) return 'must be 1-2000 characters';
  const url = parse(uri);
  if (!url) return 'must be an absolute URI';
  if (uri.includes('#')) return 'must not contain a fragment';
  if (url.username || url.password) return 'must not contain user information';
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme === 'https') return url.hostname ? null : 'must name a host';
  if (scheme === 'http') return isLoopbackHttp(url) ? null : 'http is allowed only for loopback addresses (127.0.0.1, [::1], localhost); use https';
  if (FORBIDDEN_SCHEMES.has(scheme)) return `the ${scheme}: scheme is not allowed`;
  if (policy.customSchemes !== 'any' && !policy.customSchemes.includes(scheme)) {
    return `the custom scheme ${scheme}: is not allowed on this Gatehouse (an administrator can allow it with GATEHOUSE_OAUTH_REDIRECT_SCHEMES)`;
  }
  return null;
}

/** Whether a requested redirect URI matches a registered one. */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  const a = parse(registered);
  const b = parse(requested);
  if (!a || !b || !isLoopbackHttp(a) || !isLoopbackHttp(b)) return false;
  if (requested.includes('#') || b.username || b.password) return false;
  return a.hostname === b.hostname && a.pathname === b.pathname && a.search === b.search;
}

/** The registered URI a request may redirect to: the requested one when it matches, else null. */
export function matchRedirectUri(registered: readonly string[], requested: string): string | null {
  return registered.some((uri) => redirectUriMatches(uri, requested)) ? requested : null;
}
