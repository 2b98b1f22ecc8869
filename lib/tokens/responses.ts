import type { Principal } from './claims';
import { AccessTokenError } from './errors';
import { verifyAccessToken, type VerifyAccessTokenOptions } from './verify';

/** The bearer token of a request (RFC 6750 §2.1 header form only), or null. */
export function bearerToken(request: { headers: { get(name: string): string | null } }): string | null {
  const header = request.headers.get('authorization');
  if (!header) return null;
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** Verifies the request's bearer token; throws AccessTokenError (reason `missing` when absent). */
export function authenticateBearer(request: Request, options: VerifyAccessTokenOptions): Promise<Principal> {
  return verifyAccessToken(bearerToken(request), options);
}

/**
 * 401 for the Anthropic-compatible API (/v1/*): the SDK shows `error.message` to the user, and
 * `x-should-retry: false` makes Claude Code ask for a new sign-in at once instead of retrying.
 */
export function anthropicAuthenticationError(error: AccessTokenError): Response {
  return Response.json(
    { type: 'error', error: { type: 'authentication_error', message: error.message } },
    { status: 401, headers: { 'x-should-retry': 'false', 'cache-control': 'no-store' } },
  );
}

function quoted(value: string): string {
  // RFC 7235 quoted-string: backslash-escape `"` and `\`; control characters never appear here.
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export interface BearerChallengeOptions {
  /** RFC 9728 protected resource metadata URL, so MCP clients can find the authorization server. */
  resourceMetadata?: string;
  /** Scopes the resource needs, advertised to the client. */
  scope?: string;
}

/** The RFC 6750 `WWW-Authenticate` value for a refused token. */
export function bearerChallenge(error: AccessTokenError | null, options: BearerChallengeOptions = {}): string {
  const params: string[] = [];
  // A request that sent no token gets no error code (RFC 6750 §3.1), only the hints.
  if (error && error.reason !== 'missing') {
    params.push(`error="invalid_token"`, `error_description=${quoted(error.message)}`);
  }
  if (options.resourceMetadata) params.push(`resource_metadata=${quoted(options.resourceMetadata)}`);
  if (options.scope) params.push(`scope=${quoted(options.scope)}`);
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/** 401 with an RFC 6750 challenge, for every bearer-protected endpoint outside /v1/*. */
export function bearerChallengeResponse(error: AccessTokenError, options: BearerChallengeOptions = {}): Response {
  const body = error.reason === 'missing' ? { error: 'invalid_request', error_description: error.message } : { error: 'invalid_token', error_description: error.message };
  return Response.json(body, {
    status: 401,
    headers: { 'www-authenticate': bearerChallenge(error, options), 'cache-control': 'no-store' },
  });
}
