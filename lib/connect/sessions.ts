import { db } from '@/lib/db/client';
import { revokeSession, revokeUserSessions } from '@/lib/oauth/sessions';
import { UserInputError } from '@/lib/users/tenant';
import type { UserProfile } from '@/lib/users/with-roles';

/** Ends one of the person's own sign-ins (lib/oauth audits it as session.revoke). */
export async function revokeOwnSession(user: UserProfile, sessionId: string): Promise<void> {
  const session = await db().oAuthSession.findFirst({ where: { id: sessionId, userId: user.id, revokedAt: null } });
  if (!session) throw new UserInputError('that sign-in has already ended');
  await revokeSession(session.id, 'user_revoked', { actor: { userId: user.id, email: user.email, roles: user.roles } });
}

/** Ends all of the person's sign-ins (Claude Code, connectors); the dashboard session stays. */
export async function revokeAllOwnSessions(user: UserProfile): Promise<number> {
  return revokeUserSessions(user.id, 'user_revoked', { actor: { userId: user.id, email: user.email, roles: user.roles } });
}
