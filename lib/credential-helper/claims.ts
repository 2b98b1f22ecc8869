import { randomBytes } from 'node:crypto';

/** The claims of a Gatehouse access token the helper turns into headers (read, not verified: the server verifies). */
export interface TokenIdentity {
  userId: string | null;
  email: string | null;
  tenantId: string | null;
  sessionId: string | null;
  clientId: string | null;
}

function stringClaim(claims: Record<string, unknown>, name: string): string | null {
  const value = claims[name];
  return typeof value === 'string' && value ? value : null;
}

export function identityOf(accessToken: string): TokenIdentity {
  let claims: Record<string, unknown> = {};
  try {
    const payload: unknown = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8'));
    if (payload && typeof payload === 'object') claims = payload as Record<string, unknown>;
  } catch {
    // an opaque token: no identity headers, the server still knows who it is
  }
  return {
    userId: stringClaim(claims, 'sub'),
    email: stringClaim(claims, 'email'),
    tenantId: stringClaim(claims, 'tenant'),
    sessionId: stringClaim(claims, 'sid'),
    clientId: stringClaim(claims, 'client_id'),
  };
}

/**
 * Gatehouse's seven canonical headers. The gateway takes identity from the token and only
 * compares these with it, so they can never raise privileges; they label the call for audit.
 * Each run gets a new trace id: one helper run is one credential fetch, and Desktop merges these
 * headers into the requests made with it.
 */
export function canonicalHeaders(accessToken: string, policyVersion: string | null, callSource: string): Record<string, string> {
  const identity = identityOf(accessToken);
  const headers: Record<string, string> = {};
  const put = (name: string, value: string | null) => {
    if (value) headers[name] = value;
  };
  put('x-user-id', identity.userId);
  put('x-session-id', identity.sessionId);
  put('x-trace-id', randomBytes(16).toString('hex'));
  put('x-client-id', identity.clientId);
  put('x-tenant-id', identity.tenantId);
  put('x-policy-version', policyVersion);
  put('x-call-source', callSource);
  return headers;
}
