import { db } from '@/lib/db/client';

export interface PrunedOAuthState {
  authorizationCodes: number;
  deviceAuthorizations: number;
  refreshTokens: number;
  rateLimitWindows: number;
}

const DAY_MS = 86_400_000;

/**
 * Deletes spent and expired short-lived rows (codes, device authorizations, refresh tokens, rate
 * limit windows). Sessions are kept: they are the record of who signed in where. Meant for the
 * worker's housekeeping schedule; safe to run any time.
 */
export async function pruneExpiredOAuthState(now = new Date()): Promise<PrunedOAuthState> {
  // A day's grace keeps recently spent codes around, so a replay is still recognised as one.
  const dayAgo = new Date(now.getTime() - DAY_MS);
  const [codes, devices, refresh, windows] = await db().$transaction([
    db().oAuthAuthorizationCode.deleteMany({ where: { expiresAt: { lt: dayAgo } } }),
    db().oAuthDeviceAuthorization.deleteMany({ where: { expiresAt: { lt: dayAgo } } }),
    db().oAuthRefreshToken.deleteMany({ where: { expiresAt: { lt: now } } }),
    db().oAuthRateLimit.deleteMany({ where: { windowStart: { lt: dayAgo } } }),
  ]);
  return { authorizationCodes: codes.count, deviceAuthorizations: devices.count, refreshTokens: refresh.count, rateLimitWindows: windows.count };
}
