import { issuerFor, gatewayAudience } from '@/lib/oauth/issuer';
import { AccessTokenError, anthropicAuthenticationError, bearerToken, verifyAccessToken, type Principal } from '@/lib/tokens';

/**
 * The caller of a bearer-authenticated gateway endpoint: the identity plane's access token for
 * the gateway audience, as `Authorization: Bearer` or `x-api-key` (Claude Code with an
 * apiKeyHelper sends both, the same value). Answers the Anthropic-shaped 401 otherwise.
 */
export async function authenticateGatewayCaller(request: Request): Promise<Principal | Response> {
  const token = bearerToken(request) ?? (request.headers.get('x-api-key')?.trim() || null);
  try {
    return await verifyAccessToken(token, { audience: gatewayAudience(issuerFor(request)) });
  } catch (error) {
    if (error instanceof AccessTokenError) return anthropicAuthenticationError(error);
    throw error;
  }
}
