import { AccessTokenError } from '@/lib/tokens/errors';
import { bearerChallengeResponse, bearerToken } from '@/lib/tokens/responses';
import { verifyAccessToken } from '@/lib/tokens/verify';
import { loadUserIdentity } from '../identity';
import { configuredIssuer } from '../issuer';
import { withCors } from './cors';

/** GET/POST /oauth/userinfo (OIDC Core §5.3): claims about the token's user, per its scopes. */
export async function handleUserinfo(request: Request): Promise<Response> {
  const issuer = configuredIssuer();
  try {
    // Any token this issuer minted for its own resources will do; the openid scope is what counts.
    const principal = await verifyAccessToken(bearerToken(request), { audience: { origin: new URL(issuer).origin }, issuer });
    if (!principal.scopes.includes('openid')) {
      return withCors(
        Response.json(
          { error: 'insufficient_scope', error_description: 'the token was not issued with the openid scope' },
          { status: 403, headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="openid"', 'cache-control': 'no-store' } },
        ),
      );
    }
    const identity = await loadUserIdentity(principal.userId);
    if (!identity || identity.status !== 'active') throw new AccessTokenError('user_disabled');
    const claims: Record<string, unknown> = { sub: identity.userId };
    if (principal.scopes.includes('email')) claims.email = identity.email;
    if (principal.scopes.includes('profile')) claims.name = identity.name;
    return withCors(Response.json(claims, { headers: { 'cache-control': 'no-store' } }));
  } catch (error) {
    if (error instanceof AccessTokenError) return withCors(bearerChallengeResponse(error));
    throw error;
  }
}
