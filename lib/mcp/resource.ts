import { configuredIssuer } from '@/lib/oauth/issuer';

/** Where the skills MCP server is served (Streamable HTTP, one path for POST, GET and DELETE). */
export const MCP_PATH = '/mcp';

/** Registered MCP servers are proxied below this path: `/mcp/servers/{name}` (lib/mcp/proxy). */
export const MCP_PROXY_PATH_PREFIX = '/mcp/servers/';

const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

/** RFC 9728 metadata paths: the path-suffixed form clients try first, and the root form. */
export const PROTECTED_RESOURCE_METADATA_PATHS = [`${METADATA_PREFIX}${MCP_PATH}`, METADATA_PREFIX] as const;

/** The path-suffixed metadata of every proxied server (a data-plane prefix route). */
export const PROXY_RESOURCE_METADATA_ROUTE = `${METADATA_PREFIX}${MCP_PROXY_PATH_PREFIX}*`;

/** The name part of a proxy path, when the path is one (`/mcp/servers/github` → `github`). */
export function proxiedServerName(pathname: string): string | null {
  if (!pathname.startsWith(MCP_PROXY_PATH_PREFIX)) return null;
  const name = pathname.slice(MCP_PROXY_PATH_PREFIX.length);
  // The registry's name rule (mcp_servers_name_format); anything else is no server's path.
  return /^[a-z0-9][a-z0-9-]{0,62}$/.test(name) ? name : null;
}

/**
 * An MCP endpoint's resource identifier: exactly the URL clients connect to. Tokens for it carry
 * it as their audience (RFC 8707), so a gateway token is refused here and an MCP token at /v1,
 * and a token for one proxied server is refused by every other.
 */
export function mcpResource(issuer: string = configuredIssuer(), path: string = MCP_PATH): string {
  return `${issuer}${path}`;
}

/** The proxy URL of a registered server: what clients are given and connect to. */
export function proxiedServerUrl(name: string, issuer: string = configuredIssuer()): string {
  return mcpResource(issuer, `${MCP_PROXY_PATH_PREFIX}${name}`);
}

export function protectedResourceMetadataUrl(issuer: string = configuredIssuer(), path: string = MCP_PATH): string {
  return `${issuer}${METADATA_PREFIX}${path}`;
}

/** Scopes the MCP endpoints advertise: only offline_access (refresh tokens); roles decide access. */
export const MCP_SCOPES = ['offline_access'] as const;

/** RFC 9728 Protected Resource Metadata for the endpoint at `path`. */
export function protectedResourceMetadata(issuer: string = configuredIssuer(), path: string = MCP_PATH): Record<string, unknown> {
  const server = proxiedServerName(path);
  return {
    resource: mcpResource(issuer, path),
    authorization_servers: [issuer],
    scopes_supported: [...MCP_SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: server ? `${server} (through Gatehouse)` : 'Gatehouse skills',
    resource_documentation: `${issuer}/connect`,
  };
}

/**
 * The endpoint path a metadata request is about: the root form and `/mcp` describe the skills
 * server, `/mcp/servers/{name}` a proxied one (any well-formed name: answering for unknown names
 * too keeps the public document from telling which servers exist).
 */
function describedPath(pathname: string): string | null {
  const suffix = pathname.slice(METADATA_PREFIX.length);
  if (suffix === '' || suffix === MCP_PATH) return MCP_PATH;
  return proxiedServerName(suffix) ? suffix : null;
}

/** GET (and HEAD) of any metadata path; CORS-open like the issuer's own documents. */
export async function handleProtectedResourceMetadata(request: Request): Promise<Response> {
  const headers = { 'access-control-allow-origin': '*' };
  if (request.method === 'OPTIONS') {
    return new Response(null, { status: 204, headers: { ...headers, 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'mcp-protocol-version', 'access-control-max-age': '86400' } });
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return Response.json({ error: 'invalid_request', error_description: 'use GET' }, { status: 405, headers: { ...headers, allow: 'GET, HEAD' } });
  }
  const path = describedPath(new URL(request.url).pathname);
  if (!path) return Response.json({ error: 'not_found', error_description: 'no MCP endpoint is described here' }, { status: 404, headers });
  // Built from the configured issuer only (never from Host), and never cached: see lib/oauth/http/discovery.ts.
  return Response.json(protectedResourceMetadata(configuredIssuer(), path), { headers: { ...headers, 'cache-control': 'no-store' } });
}
