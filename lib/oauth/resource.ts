import { OAuthError } from './errors';
import { gatewayAudience } from './issuer';

const MAX_RESOURCE_LENGTH = 2000;

/**
 * RFC 8707: the `resource` a client asks a token for becomes its audience. Only resources this
 * Gatehouse serves (same origin as the issuer: the gateway, MCP endpoints) can be named; with
 * none, the token is for the gateway.
 */
export function resolveAudience(resources: readonly string[], issuer: string): string {
  const named = [...new Set(resources.filter((r) => r !== ''))];
  if (named.length === 0) return gatewayAudience(issuer);
  if (named.length > 1) throw new OAuthError('invalid_target', 'ask for one resource per token');
  const resource = named[0]!;
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    throw new OAuthError('invalid_target', 'resource must be an absolute URI');
  }
  if (resource.length > MAX_RESOURCE_LENGTH || resource.includes('#')) throw new OAuthError('invalid_target', 'resource must be an absolute URI without a fragment');
  if (url.origin !== new URL(issuer).origin) throw new OAuthError('invalid_target', `Gatehouse issues tokens only for resources on ${new URL(issuer).origin}`);
  return resource;
}
