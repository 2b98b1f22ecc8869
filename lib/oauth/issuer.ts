/**
 * The issuer identifier: GATEHOUSE_PUBLIC_URL when set (what users and clients know Gatehouse
 * as, behind any proxy), else the origin the request was addressed to (development, tests).
 * The Host header is preferred to request.url because Next rebuilds request.url from its own
 * configured hostname, which need not be the one the client used.
 */
export function issuerFor(request: Request): string {
  const configured = process.env.GATEHOUSE_PUBLIC_URL;
  if (configured) return configured.replace(/\/+$/, '');
  const url = new URL(request.url);
  const host = request.headers.get('host');
  if (!host) return url.origin;
  try {
    const origin = new URL(`${url.protocol}//${host}`).origin;
    return origin === 'null' ? url.origin : origin;
  } catch {
    return url.origin;
  }
}

/** The audience of tokens for the Anthropic-compatible gateway, and the default one. */
export function gatewayAudience(issuer: string): string {
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
