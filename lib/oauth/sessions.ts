import { db } from '@/lib/db/client';
import type { OAuthClient, OAuthSession } from '@/lib/generated/prisma/client';
import { invalidateRevocationCache } from '@/lib/tokens/revocation';
import { signAccessToken } from '@/lib/tokens/sign';
import { readSignedAccessToken } from '@/lib/tokens/verify';
import { auditOAuth } from './audit';
import { oauthSettings } from './config';
import { OAuthError } from './errors';
import { AUTHORIZATION_CODE_GRANT, CLI_CLIENT_ID, DEVICE_CODE_GRANT, UNREGISTERED_DEVICE_CLIENT_ID } from './grants';
import { signIdToken } from './id-token';
import { loadUserIdentity, type UserIdentity } from './identity';
import { hasScope, narrowScope } from './scopes';
import { hashSecret, randomToken } from './secrets';

/** The token endpoint's success body (RFC 6749 §5.1, plus Claude Code's `email` extension). */
export interface TokenResponseBody {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
  email?: string;
}

export type SignInGrant = typeof AUTHORIZATION_CODE_GRANT | typeof DEVICE_CODE_GRANT | 'cli';

export interface StartSignIn {
  issuer: string;
  identity: UserIdentity;
  client: OAuthClient | null;
  grantType: SignInGrant;
  surface?: string | null;
  scope: string;
  audience: string;
  authTime: Date;
  nonce?: string | null;
  /** Claude Code shows the approving account before storing the credential. */
  includeEmail?: boolean;
  /** False for `gatehouse token mint`: a bare access token that cannot be renewed. */
  issueRefreshToken?: boolean;
  accessTokenTtlSeconds?: number;
  request?: Request;
}

type SessionWithClient = OAuthSession & { client: OAuthClient | null };

/** The `client_id` claim for a session's tokens. */
function publicClientId(session: SessionWithClient): string {
  if (session.client) return session.client.clientId;
  return session.grantType === 'cli' ? CLI_CLIENT_ID : UNREGISTERED_DEVICE_CLIENT_ID;
}

function actorOf(identity: UserIdentity) {
  return { userId: identity.userId, email: identity.email, department: identity.department, roles: identity.roles };
}

async function newRefreshToken(sessionId: string, tx: Pick<ReturnType<typeof db>, 'oAuthRefreshToken'> = db()): Promise<string> {
  const token = randomToken(32, 'ghr_');
  const ttl = oauthSettings().refreshTokenTtlSeconds;
  await tx.oAuthRefreshToken.create({ data: { tokenHash: hashSecret(token), sessionId, expiresAt: new Date(Date.now() + ttl * 1000) } });
  return token;
}

async function accessTokenFor(issuer: string, session: SessionWithClient, identity: UserIdentity, scope: string, ttlSeconds: number) {
  return signAccessToken({
    issuer,
    subject: identity,
    sessionId: session.id,
    clientId: publicClientId(session),
    audience: session.audience,
    scope,
    ttlSeconds,
  });
}

/**
 * Starts a sign-in: one session row (the `sid` of every token it will produce and the family of
 * its refresh tokens), then the access token, a refresh token and, for OIDC clients, an id_token.
 */
export async function startSignIn(input: StartSignIn): Promise<{ body: TokenResponseBody; sessionId: string }> {
  const settings = oauthSettings();
  const session = await db().oAuthSession.create({
    data: {
      tenantId: input.identity.tenantId,
      userId: input.identity.userId,
      clientId: input.client?.id ?? null,
      grantType: input.grantType,
      surface: input.surface ?? null,
      scope: input.scope,
      audience: input.audience,
      authTime: input.authTime,
      expiresAt: new Date(Date.now() + settings.sessionMaxAgeSeconds * 1000),
    },
    include: { client: true },
  });
  const ttl = input.accessTokenTtlSeconds ?? settings.accessTokenTtlSeconds;
  const access = await accessTokenFor(input.issuer, session, input.identity, input.scope, ttl);
  const body: TokenResponseBody = { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn };
  if (input.issueRefreshToken !== false) body.refresh_token = await newRefreshToken(session.id);
  if (input.scope) body.scope = input.scope;
  if (input.client && hasScope(input.scope, 'openid')) {
    body.id_token = await signIdToken({
      issuer: input.issuer,
      clientId: input.client.clientId,
      identity: input.identity,
      scope: input.scope,
      authTime: input.authTime,
      nonce: input.nonce,
      sessionId: session.id,
    });
  }
  if (input.includeEmail) body.email = input.identity.email;
  await auditOAuth({
    tenantId: input.identity.tenantId,
    type: 'auth.sign_in',
    action: 'token.issue',
    outcome: 'success',
    actor: actorOf(input.identity),
    clientId: publicClientId(session),
    sessionId: session.id,
    request: input.request,
    callSource: input.grantType === 'cli' ? 'cli' : 'oauth',
    attributes: { grant_type: input.grantType, audience: input.audience, scope: input.scope, surface: input.surface ?? '', token_id: access.tokenId },
  });
  return { body, sessionId: session.id };
}

export interface RefreshRequest {
  issuer: string;
  refreshToken: string;
  /** The authenticated client, or null when the request named none. */
  client: OAuthClient | null;
  scope?: string;
  resources: readonly string[];
  request?: Request;
}

/**
 * A refused refresh. Claude Code treats 401 invalid_grant on refresh as "sign in again": the
 * deprovisioning hook. `subject` names whose sign-in the token belonged to, when it was known,
 * so the refusal is audited against that user.
 */
export class RefreshRefusedError extends OAuthError {
  constructor(
    description: string,
    readonly subject: { userId: string; tenantId: string } | null,
  ) {
    super('invalid_grant', description, { status: 401 });
  }
}

function refreshRefused(description: string, session?: { userId: string; tenantId: string }): RefreshRefusedError {
  return new RefreshRefusedError(description, session ? { userId: session.userId, tenantId: session.tenantId } : null);
}

/**
 * Refresh with rotation: the presented token is spent and a new one returned. A spent token
 * presented again means it leaked (or the client raced itself): the whole session is revoked.
 */
export async function refreshSignIn(input: RefreshRequest): Promise<TokenResponseBody> {
  const record = await db().oAuthRefreshToken.findUnique({
    where: { tokenHash: hashSecret(input.refreshToken) },
    include: { session: { include: { client: true } } },
  });
  if (!record) throw refreshRefused('unknown refresh token');
  const { session } = record;
  if (session.clientId && session.clientId !== input.client?.id) throw refreshRefused('the refresh token was issued to another client', session);
  if (!session.clientId && input.client) throw refreshRefused('the refresh token was issued to another client', session);
  if (record.usedAt) {
    await revokeSession(session.id, 'refresh_token_reuse', { request: input.request });
    throw refreshRefused('refresh token already used; the sign-in has been revoked', session);
  }
  if (session.revokedAt) throw refreshRefused('the sign-in has been revoked', session);
  if (session.client?.disabledAt) throw refreshRefused('the client has been disabled', session);
  const now = new Date();
  if (record.expiresAt <= now || session.expiresAt <= now) throw refreshRefused('the sign-in has expired', session);
  const identity = await loadUserIdentity(session.userId);
  if (!identity || identity.status !== 'active') throw refreshRefused('the account is disabled', session);
  const scope = narrowScope(session.scope, input.scope);
  const resources = input.resources.filter(Boolean);
  if (resources.some((r) => r !== session.audience)) throw new OAuthError('invalid_target', 'a refresh can only be for the resource the sign-in was for');

  const refreshToken = await db().$transaction(async (tx) => {
    // Spending is conditional, so two concurrent refreshes with one token cannot both succeed.
    const spent = await tx.oAuthRefreshToken.updateMany({ where: { tokenHash: record.tokenHash, usedAt: null }, data: { usedAt: now } });
    if (spent.count === 0) return null;
    await tx.oAuthSession.update({ where: { id: session.id }, data: { lastUsedAt: now } });
    return newRefreshToken(session.id, tx);
  });
  if (!refreshToken) {
    await revokeSession(session.id, 'refresh_token_reuse', { request: input.request });
    throw refreshRefused('refresh token already used; the sign-in has been revoked', session);
  }
  const access = await accessTokenFor(input.issuer, session, identity, scope, oauthSettings().accessTokenTtlSeconds);
  await auditOAuth({
    tenantId: identity.tenantId,
    type: 'auth.sign_in',
    action: 'token.refresh',
    outcome: 'success',
    actor: actorOf(identity),
    clientId: publicClientId(session),
    sessionId: session.id,
    request: input.request,
    attributes: { audience: session.audience, token_id: access.tokenId },
  });
  return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refreshToken, ...(scope ? { scope } : {}) };
}

export type RevocationReason = 'refresh_token_reuse' | 'authorization_code_reuse' | 'client_revoked' | 'user_revoked' | 'admin_revoked' | 'signed_out';

/**
 * Ends a sign-in with one update: its refresh tokens stop at once, its access tokens as soon as
 * each verifier's revocation view has the change (immediately in this process, within 5 s in
 * the others). Returns false when it was
 * already revoked or does not exist.
 */
export async function revokeSession(sessionId: string, reason: RevocationReason, context: { request?: Request; actor?: { userId?: string; email?: string; roles?: string[] } } = {}): Promise<boolean> {
  const now = new Date();
  const result = await db().oAuthSession.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: now, revokedReason: reason } });
  if (result.count === 0) return false;
  invalidateRevocationCache();
  const session = await db().oAuthSession.findUnique({ where: { id: sessionId }, include: { client: true, user: true } });
  if (session) {
    const security = reason === 'refresh_token_reuse' || reason === 'authorization_code_reuse';
    await auditOAuth({
      tenantId: session.tenantId,
      type: 'auth.sign_out',
      action: 'session.revoke',
      outcome: security ? 'denied' : 'success',
      actor: context.actor ?? { userId: session.userId, email: session.user.email },
      clientId: publicClientId(session),
      sessionId,
      request: context.request,
      target: { type: 'user', id: session.userId, name: session.user.email },
      attributes: { reason },
    });
  }
  return true;
}

/**
 * RFC 7009: ends the sign-in an access or refresh token belongs to. Unknown, malformed or foreign
 * tokens are ignored (the endpoint answers 200 whatever happens, so it reveals nothing).
 */
export async function revokeToken(token: string, client: OAuthClient | null, request?: Request): Promise<void> {
  let sessionId: string | undefined;
  if (token.split('.').length === 3) {
    sessionId = await readSignedAccessToken(token).then((claims) => claims.sid, () => undefined);
  } else {
    const record = await db().oAuthRefreshToken.findUnique({ where: { tokenHash: hashSecret(token) }, select: { sessionId: true } });
    sessionId = record?.sessionId;
  }
  if (!sessionId) return;
  const session = await db().oAuthSession.findUnique({ where: { id: sessionId }, select: { clientId: true } });
  if (!session) return;
  // A confidential client may only revoke its own tokens; an unauthenticated caller holding the
  // token proves possession, which is all RFC 7009 asks of public clients.
  if (client && client.tokenEndpointAuthMethod !== 'none' && session.clientId !== client.id) return;
  await revokeSession(sessionId, 'client_revoked', { request });
}

/** Every live sign-in of a user (dashboard "sign out everywhere"). */
export async function revokeUserSessions(userId: string, reason: RevocationReason, context: { actor?: { userId?: string; email?: string; roles?: string[] } } = {}): Promise<number> {
  const sessions = await db().oAuthSession.findMany({ where: { userId, revokedAt: null }, select: { id: true } });
  let revoked = 0;
  for (const session of sessions) if (await revokeSession(session.id, reason, context)) revoked += 1;
  return revoked;
}

export interface SessionSummary {
  id: string;
  clientId: string;
  clientName: string | null;
  grantType: string;
  surface: string | null;
  audience: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
}

/** A user's sign-ins, newest first, for the dashboard. */
export async function listUserSessions(userId: string): Promise<SessionSummary[]> {
  const sessions = await db().oAuthSession.findMany({ where: { userId }, include: { client: true }, orderBy: { createdAt: 'desc' }, take: 200 });
  return sessions.map((s) => ({
    id: s.id,
    clientId: publicClientId(s),
    clientName: s.client?.name ?? null,
    grantType: s.grantType,
    surface: s.surface,
    audience: s.audience,
    createdAt: s.createdAt,
    lastUsedAt: s.lastUsedAt,
    expiresAt: s.expiresAt,
    revokedAt: s.revokedAt,
    revokedReason: s.revokedReason,
  }));
}
