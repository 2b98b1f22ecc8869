import { OAuthError } from './errors';

/**
 * Scopes Gatehouse issues. Access is decided by roles and the token's audience, so scopes only
 * shape the OIDC side (id_token, userinfo claims) and say that refresh tokens were asked for.
 */
export const SUPPORTED_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token characters

/** The requested scope, de-duplicated in request order; unknown scopes are an invalid_scope error. */
export function parseScope(raw: string | undefined): string[] {
  if (!raw) return [];
  const scopes = [...new Set(raw.split(' ').filter(Boolean))];
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) throw new OAuthError('invalid_scope', 'scope contains characters RFC 6749 does not allow');
    if (!(SUPPORTED_SCOPES as readonly string[]).includes(scope)) {
      throw new OAuthError('invalid_scope', `unknown scope "${scope.slice(0, 100)}" (supported: ${SUPPORTED_SCOPES.join(' ')})`);
    }
  }
  return scopes;
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}

export function hasScope(scope: string, wanted: string): boolean {
  return scope.split(' ').includes(wanted);
}

/** A refresh may narrow the granted scope, never widen it (RFC 6749 §6). */
export function narrowScope(granted: string, requestedRaw: string | undefined): string {
  if (requestedRaw === undefined) return granted;
  const requested = parseScope(requestedRaw);
  const allowed = new Set(granted.split(' ').filter(Boolean));
  const extra = requested.find((scope) => !allowed.has(scope));
  if (extra) throw new OAuthError('invalid_scope', `scope "${extra}" was not granted to this sign-in`);
  return formatScope(requested);
}
