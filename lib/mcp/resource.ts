import { configuredIssuer } from '@/lib/oauth/issuer';

/** Where the skills MCP server is served (Streamable HTTP, one path for POST, GET and DELETE). */
export const MCP_PATH = '/mcp';

/** RFC 9728 metadata paths: the path-suffixed form clients try first, and the root form. */
export const PROTECTED_RESOURCE_METADATA_PATHS = ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource'] as const;

/**
 * The MCP server's resource identifier: exactly the URL clients connect to. Tokens for it carry
 * it as their audience (RFC 8707), so a gateway token is refused here and an MCP token at /v1.
 */
export function mcpResource(issuer: string = configuredIssuer()): string {
  return `${issuer}${MCP_PATH}`;
}

export function protectedResourceMetadataUrl(issuer: string = configuredIssuer()): string {
  return `${issuer}${PROTECTED_RESOURCE_METADATA_PATHS[0]}`;
}

/** Scopes the MCP server advertises: only offline_access (refresh tokens); roles decide access. */
export const MCP_SCOPES = ['offline_access'] as const;

/** RFC 9728 Protected Resource Metadata for /mcp. */
export function protectedResourceMetadata(issuer: string = configuredIssuer()): Record<string, unknown> {
  return {
    resource: mcpResource(issuer),
    authorization_servers: [issuer],
    scopes_supported: [...MCP_SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: 'Gatehouse skills',
    resource_documentation: `${issuer}/connect`,
  };
}

/** GET (and HEAD) of either metadata path; CORS-open like the issuer's own documents. */
export async function handleProtectedResourceMetadata(request: Request): Promise<Response> {
  const headers = { 'access-control-allow-origin': '*' };
  if (request.method === 'OPTIONS') {
    return new Response(null, { status: 204, headers: { ...headers, 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'mcp-protocol-version', 'access-control-max-age': '86400' } });
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return Response.json({ error: 'invalid_request', error_description: 'use GET' }, { status: 405, headers: { ...headers, allow: 'GET, HEAD' } });
  }
  // Built from the configured issuer only (never from Host), and never cached: see lib/oauth/http/discovery.ts.
  return Response.json(protectedResourceMetadata(), { headers: { ...headers, 'cache-control': 'no-store' } });
}
