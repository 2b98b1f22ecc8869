import { withGatewayCallerOnWeb, type WebGatewayHandler } from '@/lib/gateway/auth/with-caller';
import { anthropicError } from '@/lib/gateway/errors';
import { mcpJsonDocument } from './clients';
import { ALLOWLIST_PATH, MCP_JSON_PATH } from './documents';
import { allowlistFor } from './issue';

/**
 * The allowlist endpoints devices and people call with their access token, through the gateway's
 * one way in (authenticate → mcp.use → handler → error map), like the org-plugins endpoints:
 * the signed allowlist (what gatehouse-sync verifies) and the same servers as a `.mcp.json`
 * (for a plugin that bundles the organisation's MCP servers, or a project).
 */

const allowlist: WebGatewayHandler = async (_request, context) => {
  const issued = await allowlistFor(context.caller.principal);
  return Response.json(issued.response, { headers: { 'cache-control': 'no-store', etag: `"mcp-allowlist-${issued.response.seq}"` } });
};

const mcpJson: WebGatewayHandler = async (_request, context) => {
  const issued = await allowlistFor(context.caller.principal);
  return new Response(`${JSON.stringify(mcpJsonDocument(issued.servers), null, 2)}\n`, {
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-disposition': 'attachment; filename=".mcp.json"' },
  });
};

const ALLOWLIST = withGatewayCallerOnWeb({ methods: ['GET'], permission: 'mcp.use' }, allowlist);
const MCP_JSON = withGatewayCallerOnWeb({ methods: ['GET'], permission: 'mcp.use' }, mcpJson);

/** Data-plane paths (lib/http/data-plane.ts) served here. */
export const ALLOWLIST_PATHS: readonly string[] = [ALLOWLIST_PATH, MCP_JSON_PATH];

export function handleAllowlistRequest(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === ALLOWLIST_PATH) return ALLOWLIST(request);
  if (pathname === MCP_JSON_PATH) return MCP_JSON(request);
  return Promise.resolve(anthropicError('not_found_error', `no such endpoint: ${request.method} ${pathname}`));
}
