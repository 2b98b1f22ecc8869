import { db } from '@/lib/db/client';
import { listUserSessions, revokeSession, revokeUserSessions } from '@/lib/oauth/sessions';
import { authorize } from '@/lib/rbac/authorize';
import { ForbiddenError } from '@/lib/rbac/errors';
import { UserInputError } from '@/lib/users/tenant';
import { principalOf, type AdminActor } from './actor';
import { recordAdminChange } from './audit';
import { requireUserManagement } from './guard';

/** One OAuth sign-in (Claude Code, Cowork, an MCP client…) as the sessions table shows it. */
export interface SessionRow {
  id: string;
  client: string;
  clientId: string;
  grantType: string;
  surface: string | null;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  status: 'active' | 'expired' | 'revoked';
  revokedReason: string | null;
}

/** Sign-ins without a registered client name themselves by `surface` (Claude Code sends claude_code). */
const SURFACE_NAMES: Record<string, string> = { claude_code: 'Claude Code' };

async function tenantUser(actor: AdminActor, userId: string) {
  const user = await db().user.findFirst({ where: { id: userId, tenantId: actor.tenantId } });
  if (!user) throw new UserInputError('that user does not exist (any more)');
  return user;
}

export async function listManagedSessions(actor: AdminActor, userId: string, now = new Date()): Promise<SessionRow[]> {
  const user = await tenantUser(actor, userId);
  if (!(await authorize(principalOf(actor), 'users.read', { departmentId: user.departmentId }))) throw new ForbiddenError('users.read', user.departmentId);
  const sessions = await listUserSessions(user.id);
  return sessions.map((session) => ({
    id: session.id,
    client: session.clientName ?? (session.surface ? SURFACE_NAMES[session.surface] : undefined) ?? session.clientId,
    clientId: session.clientId,
    grantType: session.grantType,
    surface: session.surface,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    status: session.revokedAt ? 'revoked' : session.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active',
    revokedReason: session.revokedReason,
  }));
}

function revocationActor(actor: AdminActor) {
  return { userId: actor.userId, email: actor.email, roles: actor.roles };
}

/** Ends one sign-in: its refresh token stops at once, its access tokens within seconds. */
export async function revokeManagedSession(actor: AdminActor, userId: string, sessionId: string): Promise<void> {
  const user = await tenantUser(actor, userId);
  await requireUserManagement(actor, user, 'session.revoke');
  const session = await db().oAuthSession.findFirst({ where: { id: sessionId, userId: user.id } });
  if (!session) throw new UserInputError('that session does not exist (any more)');
  if (session.revokedAt) throw new UserInputError('that session has already ended');
  await revokeSession(session.id, 'admin_revoked', { actor: revocationActor(actor) });
  await recordAdminChange(actor, 'session.revoke', { type: 'user', id: user.id, name: user.email }, { session_id: session.id });
}

/** Ends every sign-in of the user (the account stays enabled: they may sign in again). */
export async function revokeAllManagedSessions(actor: AdminActor, userId: string): Promise<number> {
  const user = await tenantUser(actor, userId);
  await requireUserManagement(actor, user, 'session.revoke_all');
  const revoked = await revokeUserSessions(user.id, 'admin_revoked', { actor: revocationActor(actor) });
  await recordAdminChange(actor, 'session.revoke_all', { type: 'user', id: user.id, name: user.email }, { sessions_revoked: revoked });
  return revoked;
}
