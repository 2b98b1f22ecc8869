import { db } from '@/lib/db/client';
import type { OAuthClient } from '@/lib/generated/prisma/client';
import { auditOAuth } from './audit';
import { AUTHORIZATION_CODE_TTL_SECONDS } from './config';
import { OAuthError } from './errors';
import { AUTHORIZATION_CODE_GRANT } from './grants';
import { loadUserIdentity } from './identity';
import { verifyPkce } from './pkce';
import { redirectUriMatches } from './redirect-uris';
import { hashSecret, randomToken } from './secrets';
import { revokeSession, startSignIn, type TokenResponseBody } from './sessions';

export interface NewAuthorizationCode {
  client: OAuthClient;
  userId: string;
  /** The redirect_uri the request named, or null when it named none. */
  redirectUri: string | null;
  codeChallenge: string;
  scope: string;
  audience: string;
  nonce: string | null;
  authTime: Date;
}

export async function createAuthorizationCode(input: NewAuthorizationCode): Promise<string> {
  const code = randomToken(32);
  await db().oAuthAuthorizationCode.create({
    data: {
      codeHash: hashSecret(code),
      clientId: input.client.id,
      userId: input.userId,
      redirectUri: input.redirectUri,
      codeChallenge: input.codeChallenge,
      scope: input.scope,
      audience: input.audience,
      nonce: input.nonce,
      authTime: input.authTime,
      expiresAt: new Date(Date.now() + AUTHORIZATION_CODE_TTL_SECONDS * 1000),
    },
  });
  return code;
}

export interface CodeExchange {
  issuer: string;
  code: string;
  client: OAuthClient;
  redirectUri?: string;
  codeVerifier?: string;
  resources: readonly string[];
  request?: Request;
}

function invalidGrant(description: string): OAuthError {
  return new OAuthError('invalid_grant', description);
}

/**
 * Exchanges a code for tokens. The code is spent first, whatever follows, so a failed PKCE check
 * cannot be retried with other verifiers; a code presented twice revokes what the first
 * exchange issued (RFC 6749 §4.1.2).
 */
export async function redeemAuthorizationCode(input: CodeExchange): Promise<TokenResponseBody> {
  const codeHash = hashSecret(input.code);
  const now = new Date();
  const spent = await db().oAuthAuthorizationCode.updateMany({ where: { codeHash, consumedAt: null }, data: { consumedAt: now } });
  const record = await db().oAuthAuthorizationCode.findUnique({ where: { codeHash }, include: { client: true } });
  if (!record) throw invalidGrant('unknown authorization code');
  if (spent.count === 0) {
    if (record.sessionId) await revokeSession(record.sessionId, 'authorization_code_reuse', { request: input.request });
    else {
      await auditOAuth({
        tenantId: record.client.tenantId,
        type: 'auth.sign_in',
        action: 'token.issue',
        outcome: 'denied',
        clientId: record.client.clientId,
        request: input.request,
        attributes: { grant_type: AUTHORIZATION_CODE_GRANT, reason: 'authorization_code_reuse' },
      });
    }
    throw invalidGrant('authorization code already used');
  }
  if (record.expiresAt <= now) throw invalidGrant('authorization code expired');
  if (record.clientId !== input.client.id) throw invalidGrant('authorization code was issued to another client');
  if (record.redirectUri !== null) {
    if (input.redirectUri !== record.redirectUri) throw invalidGrant('redirect_uri does not match the authorization request');
  } else if (input.redirectUri !== undefined && !record.client.redirectUris.some((uri) => redirectUriMatches(uri, input.redirectUri!))) {
    throw invalidGrant('redirect_uri is not registered for this client');
  }
  if (!verifyPkce(record.codeChallenge, input.codeVerifier)) throw invalidGrant('PKCE verification failed (code_verifier does not match code_challenge)');
  const resources = input.resources.filter(Boolean);
  if (resources.some((r) => r !== record.audience)) throw new OAuthError('invalid_target', 'resource differs from the one authorized');
  const identity = await loadUserIdentity(record.userId);
  if (!identity || identity.status !== 'active') throw invalidGrant('the account is disabled');

  const { body, sessionId } = await startSignIn({
    issuer: input.issuer,
    identity,
    client: input.client,
    grantType: AUTHORIZATION_CODE_GRANT,
    scope: record.scope,
    audience: record.audience,
    authTime: record.authTime,
    nonce: record.nonce,
    request: input.request,
  });
  await db().oAuthAuthorizationCode.update({ where: { codeHash }, data: { sessionId } });
  return body;
}
