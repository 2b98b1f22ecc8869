import type { User } from 'next-auth';
import type { OAuthConfig } from 'next-auth/providers/oauth';
import type { SignInOrigin } from './local-sign-in';
import { readSsoIdentity } from './sso-claims';
import type { UsableSsoProvider } from './sso-config';
import { ssoRefusalCode } from './sso-errors';
import { provisionSsoUser } from './sso-provision';

type IdTokenClaims = Record<string, unknown>;

/**
 * One upstream OpenID provider as a next-auth OAuth provider: endpoints from discovery,
 * authorization code with PKCE and state, identity from the verified id_token (openid-client
 * checks its signature against the IdP's JWKS, issuer, audience and expiry). The profile step
 * provisions the Gatehouse user, so the session carries Gatehouse's user id; a refusal travels
 * to the signIn callback as `signInRefusal`, which turns it into a message on /signin.
 */
export function ssoProvider({ config, clientSecret }: UsableSsoProvider, origin: SignInOrigin): OAuthConfig<IdTokenClaims> {
  return {
    id: config.id,
    name: config.name,
    type: 'oauth',
    wellKnown: `${config.issuer}/.well-known/openid-configuration`,
    clientId: config.client_id,
    clientSecret,
    authorization: { params: { scope: config.scopes.join(' ') } },
    idToken: true,
    checks: ['pkce', 'state'],
    async profile(claims): Promise<User> {
      const identity = readSsoIdentity(config, claims);
      const result = await provisionSsoUser(config, identity, { origin });
      if (!result.ok) {
        return { id: identity.subject || 'refused', email: identity.email, name: identity.name, tenantId: '', roles: [], departmentSlug: null, signInRefusal: ssoRefusalCode(result.reason) };
      }
      const { user } = result;
      return { id: user.id, email: user.email, name: user.name, tenantId: user.tenantId, roles: user.roles, departmentSlug: user.departmentSlug };
    },
  };
}
