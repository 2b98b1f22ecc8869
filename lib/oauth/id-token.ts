import { SignJWT } from 'jose';
import { SIGNING_ALGORITHM } from '@/lib/tokens/config';
import { activeSigningKey } from '@/lib/tokens/signing-keys';
import { ID_TOKEN_TTL_SECONDS } from './config';
import type { UserIdentity } from './identity';
import { hasScope } from './scopes';

export interface IdTokenRequest {
  issuer: string;
  clientId: string;
  identity: UserIdentity;
  scope: string;
  authTime: Date;
  nonce?: string | null;
  sessionId: string;
}

/** The OIDC id_token for a client that asked for `openid`: who signed in, for that client only. */
export async function signIdToken(request: IdTokenRequest): Promise<string> {
  const { kid, privateKey } = await activeSigningKey();
  const claims: Record<string, unknown> = {
    auth_time: Math.floor(request.authTime.getTime() / 1000),
    sid: request.sessionId,
  };
  if (request.nonce) claims.nonce = request.nonce;
  if (hasScope(request.scope, 'email')) claims.email = request.identity.email;
  if (hasScope(request.scope, 'profile')) claims.name = request.identity.name;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: 'JWT' })
    .setIssuer(request.issuer)
    .setSubject(request.identity.userId)
    .setAudience(request.clientId)
    .setIssuedAt()
    .setExpirationTime(`${ID_TOKEN_TTL_SECONDS}s`)
    .sign(privateKey);
}
