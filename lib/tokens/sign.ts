import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AccessTokenClaims } from './claims';
import { ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM } from './config';
import { activeSigningKey } from './signing-keys';

/** The user a token speaks for, as read from the database at issuance. */
export interface TokenSubject {
  userId: string;
  email: string;
  tenantId: string;
  department: string | null;
  roles: string[];
}

export interface AccessTokenRequest {
  issuer: string;
  subject: TokenSubject;
  sessionId: string;
  clientId: string;
  audience: string;
  scope: string;
  ttlSeconds: number;
  /** Issue time; defaults to now. */
  now?: Date;
}

export interface SignedAccessToken {
  token: string;
  tokenId: string;
  expiresIn: number;
  expiresAt: Date;
}

/** Signs an access token with the active key (ES256, `kid` and `typ: at+jwt` in the header). */
export async function signAccessToken(request: AccessTokenRequest): Promise<SignedAccessToken> {
  const { kid, privateKey } = await activeSigningKey();
  const iat = Math.floor((request.now ?? new Date()).getTime() / 1000);
  const exp = iat + request.ttlSeconds;
  const tokenId = randomUUID();
  const claims: AccessTokenClaims = {
    iss: request.issuer,
    sub: request.subject.userId,
    aud: request.audience,
    iat,
    exp,
    jti: tokenId,
    client_id: request.clientId,
    scope: request.scope,
    sid: request.sessionId,
    email: request.subject.email,
    tenant: request.subject.tenantId,
    department: request.subject.department,
    roles: request.subject.roles,
  };
  const token = await new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE }).sign(privateKey);
  return { token, tokenId, expiresIn: request.ttlSeconds, expiresAt: new Date(exp * 1000) };
}
