import { AccessTokenError, revocationView, verifyAccessToken, type Principal } from '@/lib/tokens';

/**
 * Claude Code sends the same access token with every request for its whole lifetime, so the
 * gateway verifies each token's signature once a minute instead of on every call (an ES256
 * verification is the largest CPU cost of authentication). What can change while a token is
 * cached is checked on every call exactly as verifyAccessToken checks it: expiry, and the
 * revocation view (disabled users, revoked sign-ins). The minute bounds how long a token signed
 * by a key removed from the key store keeps working here.
 */
const REVERIFY_AFTER_MS = 60_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  principal: Principal;
  verifiedAt: number;
}

const verified = new Map<string, Entry>();

async function stillValid(principal: Principal): Promise<void> {
  const view = await revocationView();
  if (view.disabledUsers.has(principal.userId)) throw new AccessTokenError('user_disabled');
  if (view.revokedSessions.has(principal.sessionId)) throw new AccessTokenError('revoked');
}

/** verifyAccessToken for one audience, with the signature check cached per token. */
export async function verifyGatewayToken(token: string | null, audience: string): Promise<Principal> {
  if (!token) throw new AccessTokenError('missing');
  const key = `${audience} ${token}`;
  const now = Date.now();
  const entry = verified.get(key);
  if (entry && now - entry.verifiedAt < REVERIFY_AFTER_MS && entry.principal.expiresAt.getTime() > now) {
    await stillValid(entry.principal);
    return entry.principal;
  }
  verified.delete(key);
  const principal = await verifyAccessToken(token, { audience });
  if (verified.size >= MAX_ENTRIES) verified.clear();
  verified.set(key, { principal, verifiedAt: now });
  return principal;
}

/** Forget every cached verification (tests; a signing key withdrawn in this process). */
export function clearTokenCache(): void {
  verified.clear();
}
