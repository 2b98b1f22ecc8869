import { z } from 'zod';
import { appendAuditEvent, type AuditOutcome } from '@/lib/audit';
import { hashPassword, verifyPassword } from '@/lib/auth/password';
import { db } from '@/lib/db/client';
import { roleLabels } from '@/lib/rbac/labels';
import { userProfile, withDepartmentAndRoles, type UserProfile } from '@/lib/users/with-roles';
import { auditOrigin, countThrottledSignIn, fallbackTenantId, type SignInOrigin } from './sign-in-audit';
import { accountName, admitSignIn, signInSucceeded, type SignInSubject, type ThrottleClock } from './sign-in-throttle';

export type { SignInOrigin } from './sign-in-audit';

export type SignInFailureReason = 'invalid_credentials' | 'throttled' | 'disabled';

/** The user a successful sign-in vouches for (SSO sign-ins return the same). */
export type SignedInUser = UserProfile;

export type LocalSignInResult =
  | { ok: true; user: SignedInUser }
  | { ok: false; reason: 'invalid_credentials' | 'disabled' }
  | { ok: false; reason: 'throttled'; /** Whole seconds until this address and account may try again. */ retryAfterSeconds: number };

const emailSchema = z.email().max(320);

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
 * Checks an email and password against the local user table and records every attempt that
 * reaches the check as an `auth.sign_in` audit event. Attempts are throttled per client address
 * and per account name (sign-in-throttle.ts) before anything is looked up, so a throttled
 * attempt, an unknown email and a wrong password look the same from outside whether or not the
 * account exists: same answer, and the same work (an unknown email is checked against a dummy
 * hash). A disabled account is only reported as such to someone who knows its password.
 * `throttleClock`: the throttle's time (tests; PostgreSQL's clock otherwise).
 */
export async function authenticateLocalUser(email: string, password: string, origin: SignInOrigin = {}, options: { throttleClock?: ThrottleClock } = {}): Promise<LocalSignInResult> {
  const normalized = accountName(email);
  const subject: SignInSubject = { ip: origin.ip, email: normalized };
  const verdict = await admitSignIn(subject, options.throttleClock);
  if (!verdict.allowed) {
    await countThrottledSignIn(verdict.limitedBy, normalized, origin);
    return { ok: false, reason: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
  }

  const parsedEmail = emailSchema.safeParse(normalized);
  const user = parsedEmail.success ? await findUser(parsedEmail.data) : null;

  if (!user || !user.passwordHash) {
    await verifyPassword(password, await dummyPasswordHash());
    await recordAttempt({
      tenantId: user?.tenantId ?? (await fallbackTenantId()),
      outcome: 'failure',
      reason: 'invalid_credentials',
      cause: !parsedEmail.success ? 'malformed_email' : user ? 'no_password_set' : 'unknown_email',
      email: parsedEmail.success ? parsedEmail.data : undefined,
      user: user ?? undefined,
      origin,
    });
    return { ok: false, reason: 'invalid_credentials' };
  }

  if (!(await verifyPassword(password, user.passwordHash))) {
    await recordAttempt({ tenantId: user.tenantId, outcome: 'failure', reason: 'invalid_credentials', cause: 'wrong_password', user, origin });
    return { ok: false, reason: 'invalid_credentials' };
  }

  // The right password: whoever holds it is not the one to slow down.
  await signInSucceeded(subject, options.throttleClock);
  if (user.status !== 'active') {
    await recordAttempt({ tenantId: user.tenantId, outcome: 'denied', reason: 'disabled', user, origin });
    return { ok: false, reason: 'disabled' };
  }

  await db().user.update({ where: { id: user.id }, data: { lastSignInAt: new Date() } });
  await recordAttempt({ tenantId: user.tenantId, outcome: 'success', reason: 'signed_in', user, origin });
  return { ok: true, user: userProfile(user) };
}
