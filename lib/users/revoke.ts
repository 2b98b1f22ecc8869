import { db } from '@/lib/db/client';
import { invalidateRevocationCache } from '@/lib/tokens/revocation';
import { recordUserChange } from './change-audit';
import { UserInputError } from './tenant';
import type { ChangeActor } from './users';

export interface RevokedUser {
  userId: string;
  email: string;
  sessionsRevoked: number;
}

/**
 * Cuts a user off: disables the account and ends every sign-in in one transaction. Refresh fails
 * at once (401 invalid_grant, so clients ask to sign in again, which now fails); access tokens
 * stop in this process at once and in the others when the change notification reaches them
 * (lib/tokens/revocation.ts: usually milliseconds, 5 s at most).
 */
export async function revokeUser(email: string, actor: ChangeActor): Promise<RevokedUser> {
  const normalized = email.trim().toLowerCase();
  const user = await db().user.findUnique({ where: { email: normalized } });
  if (!user) throw new UserInputError(`no user with email ${normalized}`);
  const now = new Date();
  const sessionsRevoked = await db().$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { status: 'disabled' } });
    const sessions = await tx.oAuthSession.updateMany({ where: { userId: user.id, revokedAt: null }, data: { revokedAt: now, revokedReason: 'user_revoked' } });
    // A code approved but not yet collected must not turn into tokens afterwards.
    await tx.oAuthDeviceAuthorization.updateMany({ where: { userId: user.id, status: 'approved' }, data: { status: 'denied' } });
    return sessions.count;
  });
  invalidateRevocationCache();
  await recordUserChange(user.tenantId, 'user.revoke', actor, {
    target: { type: 'user', id: user.id, name: user.email },
    attributes: { sessions_revoked: sessionsRevoked, status: 'disabled' },
  });
  return { userId: user.id, email: user.email, sessionsRevoked };
}
