import { publicUrl } from '@/lib/platform/public-url';

/**
 * The issuer identifier: the configured public URL (GATEHOUSE_PUBLIC_URL, else
 * http://localhost:$PORT). It deliberately takes no request: a Host or X-Forwarded-Host header
 * is the client's to choose, and an issuer that followed it would let anyone obtain tokens and
 * discovery documents naming an origin of their choice.
 */
export function configuredIssuer(): string {
  return publicUrl();
}

/**
 * The audience of tokens for the Anthropic-compatible gateway, and the default one: `<issuer>/v1`.
 * Without an argument, for the configured issuer (what every gateway endpoint checks tokens against).
 */
export function gatewayAudience(issuer: string = configuredIssuer()): string {
  return `${issuer}/v1`;
}

export interface OAuthEndpoints {
  authorization: string;
  token: string;
  deviceAuthorization: string;
  verification: string;
  revocation: string;
  registration: string;
  userinfo: string;
  jwks: string;
}

export function endpointsFor(issuer: string): OAuthEndpoints {
  return {
    authorization: `${issuer}/oauth/authorize`,
    token: `${issuer}/oauth/token`,
    deviceAuthorization: `${issuer}/oauth/device_authorization`,
    verification: `${issuer}/device`,
    revocation: `${issuer}/oauth/revoke`,
    registration: `${issuer}/oauth/register`,
    userinfo: `${issuer}/oauth/userinfo`,
    jwks: `${issuer}/.well-known/jwks.json`,
  };
}
