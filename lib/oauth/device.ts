import { randomInt } from 'node:crypto';
import { db } from '@/lib/db/client';
import { Prisma, type OAuthClient, type OAuthDeviceAuthorization } from '@/lib/generated/prisma/client';
import { auditOAuth } from './audit';
import { DEVICE_CODE_TTL_SECONDS, DEVICE_POLL_INTERVAL_SECONDS, DEVICE_SLOW_DOWN_STEP_SECONDS } from './config';
import { OAuthError } from './errors';
import { DEVICE_CODE_GRANT, UNREGISTERED_DEVICE_CLIENT_ID } from './grants';
import { loadUserIdentity, type UserIdentity } from './identity';
import { hashSecret, randomToken } from './secrets';
import { startSignIn, type TokenResponseBody } from './sessions';

/**
 * RFC 8628 §6.1: consonants only (no vowels, so no words), upper case, no look-alikes. Eight of
 * them give 20^8 ≈ 2.6·10^10 codes; with ten-minute lifetimes and per-IP entry limits on the
 * verification page, guessing a live one is impractical.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;

export function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i += 1) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** `WDJBMJHT` → `WDJB-MJHT`, as shown to people. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** What a person typed → the stored form, or null if it cannot be a user code. */
export function normalizeUserCode(input: string | null | undefined): string | null {
  if (!input || input.length > 32) return null;
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return null;
  return [...code].every((c) => USER_CODE_ALPHABET.includes(c)) ? code : null;
}

const SURFACE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The `surface` extension (Claude Code sends `claude_code`); odd values are dropped, not refused. */
export function cleanSurface(value: string | null | undefined): string | null {
  return value && SURFACE.test(value) ? value : null;
}

export interface NewDeviceAuthorization {
  client: OAuthClient | null;
  surface: string | null;
  scope: string;
  audience: string;
  ip?: string;
  userAgent?: string;
}

export interface DeviceAuthorizationCodes {
  deviceCode: string;
  userCode: string;
  expiresIn: number;
  interval: number;
}

export async function createDeviceAuthorization(input: NewDeviceAuthorization): Promise<DeviceAuthorizationCodes> {
  const deviceCode = randomToken(32, 'ghd_');
  for (let attempt = 0; ; attempt += 1) {
    const userCode = generateUserCode();
    try {
      await db().oAuthDeviceAuthorization.create({
        data: {
          deviceCodeHash: hashSecret(deviceCode),
          userCode,
          clientId: input.client?.id ?? null,
          surface: input.surface,
          scope: input.scope,
          audience: input.audience,
          pollInterval: DEVICE_POLL_INTERVAL_SECONDS,
          requestIp: input.ip ?? null,
          userAgent: input.userAgent ?? null,
          expiresAt: new Date(Date.now() + DEVICE_CODE_TTL_SECONDS * 1000),
        },
      });
      return { deviceCode, userCode, expiresIn: DEVICE_CODE_TTL_SECONDS, interval: DEVICE_POLL_INTERVAL_SECONDS };
    } catch (error) {
      // A user code still stored (live or awaiting pruning) was drawn again: draw another.
      const collision = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
      if (!collision || attempt >= 4) throw error;
    }
  }
}

export type PendingDeviceAuthorization = OAuthDeviceAuthorization & { client: OAuthClient | null };

/** A code the signed-in user may still approve or deny, or null. */
export async function findPendingDeviceAuthorization(userCode: string): Promise<PendingDeviceAuthorization | null> {
  const found = await db().oAuthDeviceAuthorization.findUnique({ where: { userCode }, include: { client: true } });
  if (!found || found.status !== 'pending' || found.expiresAt <= new Date()) return null;
  return found;
}

/** Records the user's decision; false when the code is unknown, expired or already decided. */
export async function decideDeviceAuthorization(userCode: string, user: UserIdentity, approve: boolean, request?: Request): Promise<boolean> {
  const now = new Date();
  const result = await db().oAuthDeviceAuthorization.updateMany({
    where: { userCode, status: 'pending', expiresAt: { gt: now } },
    data: { status: approve ? 'approved' : 'denied', userId: user.userId, decidedAt: now },
  });
  if (result.count === 0) return false;
  const row = await db().oAuthDeviceAuthorization.findUnique({ where: { userCode }, include: { client: true } });
  await auditOAuth({
    tenantId: user.tenantId,
    type: 'auth.sign_in',
    action: approve ? 'device.approve' : 'device.deny',
    outcome: approve ? 'success' : 'denied',
    actor: { userId: user.userId, email: user.email, department: user.department, roles: user.roles },
    clientId: row?.client?.clientId ?? UNREGISTERED_DEVICE_CLIENT_ID,
    request,
    attributes: { surface: row?.surface ?? '', device_request_ip: row?.requestIp ?? '' },
  });
  return true;
}

interface PollRow {
  id: string;
  status: OAuthDeviceAuthorization['status'];
  expires_at: Date;
  client_id: string | null;
  user_id: string | null;
  scope: string;
  audience: string;
  surface: string | null;
  too_fast: boolean;
}

export interface DevicePoll {
  issuer: string;
  deviceCode: string;
  client: OAuthClient | null;
  request?: Request;
}

/**
 * One poll of the token endpoint (RFC 8628 §3.4/§3.5). The poll time is recorded in the same
 * statement that compares it with the previous one, so concurrent polls are judged correctly;
 * polling faster than the interval answers slow_down and raises the interval by five seconds.
 */
export async function pollDeviceAuthorization(input: DevicePoll): Promise<TokenResponseBody> {
  const rows = await db().$queryRaw<PollRow[]>`
    WITH previous AS (
      SELECT id, last_polled_at, poll_interval FROM oauth_device_authorizations
      WHERE device_code_hash = ${hashSecret(input.deviceCode)} FOR UPDATE
    ), judged AS (
      SELECT id, poll_interval,
             coalesce(last_polled_at > now() - make_interval(secs => poll_interval), false) AS too_fast
      FROM previous
    )
    UPDATE oauth_device_authorizations d
    SET last_polled_at = now(),
        poll_interval = CASE WHEN judged.too_fast THEN judged.poll_interval + ${DEVICE_SLOW_DOWN_STEP_SECONDS} ELSE judged.poll_interval END
    FROM judged WHERE d.id = judged.id
    RETURNING d.id, d.status, d.expires_at, d.client_id, d.user_id, d.scope, d.audience, d.surface, judged.too_fast`;
  const row = rows[0];
  if (!row) throw new OAuthError('invalid_grant', 'unknown device code');
  if ((row.client_id ?? null) !== (input.client?.id ?? null)) throw new OAuthError('invalid_grant', 'the device code was issued to another client');
  if (row.too_fast) throw new OAuthError('slow_down', `polling faster than the interval; wait ${DEVICE_SLOW_DOWN_STEP_SECONDS} seconds longer between requests`);
  if (row.status === 'consumed') throw new OAuthError('invalid_grant', 'the device code has already been used');
  if (row.expires_at <= new Date()) throw new OAuthError('expired_token', 'the device code has expired; start the sign-in again');
  if (row.status === 'pending') throw new OAuthError('authorization_pending', 'waiting for the user to approve the code');
  if (row.status === 'denied') throw new OAuthError('access_denied', 'the user denied the request');

  const consumed = await db().oAuthDeviceAuthorization.updateMany({ where: { id: row.id, status: 'approved' }, data: { status: 'consumed' } });
  if (consumed.count === 0) throw new OAuthError('invalid_grant', 'the device code has already been used');
  const identity = row.user_id ? await loadUserIdentity(row.user_id) : null;
  if (!identity || identity.status !== 'active') throw new OAuthError('access_denied', 'the approving account is disabled');
  const { body } = await startSignIn({
    issuer: input.issuer,
    identity,
    client: input.client,
    grantType: DEVICE_CODE_GRANT,
    surface: row.surface,
    scope: row.scope,
    audience: row.audience,
    authTime: new Date(),
    includeEmail: true,
    request: input.request,
  });
  return body;
}
