import { z } from 'zod';
import { appendAuditEvent, type AuditOutcome } from '@/lib/audit';
import { hashPassword, verifyPassword } from '@/lib/auth/password';
import { db } from '@/lib/db/client';
import { roleLabels } from '@/lib/rbac/labels';
import { userProfile, withDepartmentAndRoles, type UserProfile } from '@/lib/users/with-roles';

/** Consecutive wrong passwords that lock an account. */
export const MAX_FAILED_SIGN_INS = 5;
export const LOCKOUT_MINUTES = 15;

export type SignInFailureReason = 'invalid_credentials' | 'locked' | 'disabled';

/** The user a successful sign-in vouches for (SSO sign-ins return the same). */
export type SignedInUser = UserProfile;

export type LocalSignInResult =
  | { ok: true; user: SignedInUser }
  | { ok: false; reason: SignInFailureReason; /** Set when reason is 'locked'. */ lockedUntil?: Date };

/** Where the attempt came from, recorded with it. */
export interface SignInOrigin {
  ip?: string;
  userAgent?: string;
}

const emailSchema = z.email().max(320);
const ipSchema = z.union([z.ipv4(), z.ipv6()]);

/** Only well-formed values are recorded: a bad forwarded header must not fail the sign-in. */
function auditOrigin(origin: SignInOrigin): { ip?: string; user_agent?: string } | undefined {
  const ip = ipSchema.safeParse(origin.ip).success ? origin.ip : undefined;
  const userAgent = origin.userAgent?.replace(/\u0000/g, '').slice(0, 1000) || undefined;
  return ip || userAgent ? { ip, user_agent: userAgent } : undefined;
}

// A real scrypt hash of a random password: verifying against it costs what a real check costs,
// so an unknown email cannot be told apart from a wrong password by response time.
let dummyHash: Promise<string> | undefined;
function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  return dummyHash;
}

type UserRecord = NonNullable<Awaited<ReturnType<typeof findUser>>>;

function findUser(email: string) {
  return db().user.findUnique({
    where: { email },
    include: withDepartmentAndRoles,
  });
}

/** The tenant an attempt on an unknown email is recorded against: the installation's first. */
async function fallbackTenantId(): Promise<string | null> {
  const tenant = await db().tenant.findFirst({ orderBy: { createdAt: 'asc' }, select: { id: true } });
  return tenant?.id ?? null;
}

/**
 * Counts a wrong password in one statement, so concurrent attempts cannot both slip under the
 * limit. Reaching the limit locks the account and restarts the count for after the lock.
 */
async function recordFailure(userId: string): Promise<Date | null> {
  const rows = await db().$queryRaw<{ locked_until: Date | null }[]>`
    UPDATE users SET
      failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= ${MAX_FAILED_SIGN_INS} THEN 0 ELSE failed_sign_ins + 1 END,
      locked_until = CASE WHEN failed_sign_ins + 1 >= ${MAX_FAILED_SIGN_INS}
                          THEN now() + make_interval(mins => ${LOCKOUT_MINUTES}) ELSE locked_until END,
      updated_at = now()
    WHERE id = ${userId}::uuid
    RETURNING locked_until`;
  const lockedUntil = rows[0]?.locked_until ?? null;
  return lockedUntil && lockedUntil.getTime() > Date.now() ? lockedUntil : null;
}

interface AttemptRecord {
  tenantId: string | null;
  outcome: AuditOutcome;
  reason: SignInFailureReason | 'signed_in';
  /** Finer than `reason`, for auditors only (the person signing in never sees it). */
  cause?: string;
  email?: string;
  user?: UserRecord;
  origin: SignInOrigin;
}

async function recordAttempt(attempt: AttemptRecord): Promise<void> {
  if (!attempt.tenantId) return; // no tenant yet: nothing exists to sign in to or to record against
  const { user } = attempt;
  await appendAuditEvent({
    tenant_id: attempt.tenantId,
    event_type: 'auth.sign_in',
    action: 'session.create',
    outcome: attempt.outcome,
    actor: {
      user_id: user?.id,
      email: user?.email ?? attempt.email,
      department: user?.department?.slug,
      roles: user ? roleLabels(user.roleBindings) : [],
    },
    call_source: 'dashboard',
    ...(user ? { target: { type: 'user', id: user.id, name: user.email } } : {}),
    origin: auditOrigin(attempt.origin),
    attributes: { reason: attempt.reason, ...(attempt.cause ? { cause: attempt.cause } : {}), method: 'password' },
  });
}

/**
 * Checks an email and password against the local user table, applying the lockout rule, and
 * records every attempt as an `auth.sign_in` audit event. Disabled accounts are only reported
 * as such to someone who knows the password.
 */
export async function authenticateLocalUser(email: string, password: string, origin: SignInOrigin = {}): Promise<LocalSignInResult> {
  const normalized = email.trim().toLowerCase();
  const parsedEmail = emailSchema.safeParse(normalized);
  const user = parsedEmail.success ? await findUser(parsedEmail.data) : null;
  const recordedEmail = parsedEmail.success ? parsedEmail.data : undefined;

  if (!user || !user.passwordHash) {
    await verifyPassword(password, await dummyPasswordHash());
    await recordAttempt({
      tenantId: user?.tenantId ?? (await fallbackTenantId()),
      outcome: 'failure',
      reason: 'invalid_credentials',
      cause: !parsedEmail.success ? 'malformed_email' : user ? 'no_password_set' : 'unknown_email',
      email: recordedEmail,
      user: user ?? undefined,
      origin,
    });
    return { ok: false, reason: 'invalid_credentials' };
  }

  if (user.lockedUntil && user.lockedUntil.getTime() > Date.now()) {
    // The password is not checked at all while locked, so guessing cannot continue meanwhile.
    await verifyPassword(password, await dummyPasswordHash());
    await recordAttempt({ tenantId: user.tenantId, outcome: 'denied', reason: 'locked', user, origin });
    return { ok: false, reason: 'locked', lockedUntil: user.lockedUntil };
  }

  if (!(await verifyPassword(password, user.passwordHash))) {
    const lockedUntil = await recordFailure(user.id);
    await recordAttempt({
      tenantId: user.tenantId,
      outcome: 'failure',
      reason: lockedUntil ? 'locked' : 'invalid_credentials',
      cause: lockedUntil ? 'wrong_password_lockout_started' : 'wrong_password',
      user,
      origin,
    });
    return lockedUntil ? { ok: false, reason: 'locked', lockedUntil } : { ok: false, reason: 'invalid_credentials' };
  }

  if (user.status !== 'active') {
    await recordAttempt({ tenantId: user.tenantId, outcome: 'denied', reason: 'disabled', user, origin });
    return { ok: false, reason: 'disabled' };
  }

  await db().user.update({
    where: { id: user.id },
    data: { failedSignIns: 0, lockedUntil: null, lastSignInAt: new Date() },
  });
  await recordAttempt({ tenantId: user.tenantId, outcome: 'success', reason: 'signed_in', user, origin });
  return { ok: true, user: userProfile(user) };
}
