import type { IncomingMessage, ServerResponse } from 'node:http';
import { GATEWAY_PATHS, handleGatewayRequest, serveGateway } from '@/lib/gateway/routes';
import { handleMcpRequest, handleProtectedResourceMetadata, MCP_PATH, PROTECTED_RESOURCE_METADATA_PATHS, PROXY_RESOURCE_METADATA_ROUTE } from '@/lib/mcp';
import { handleMcpProxyRequest, MCP_PROXY_ROUTE } from '@/lib/mcp/proxy';
import { handleUpstreamCallback, UPSTREAM_CALLBACK_PATH } from '@/lib/mcp/upstream-oauth';
import { OAUTH_PATHS, routeOAuth } from '@/lib/oauth/routes';
import { handlePluginRequest, PLUGIN_PATHS } from '@/lib/plugins/http/routes';
import { GOVERNANCE_HOOK_PATHS, handleGovernanceHook } from '@/lib/governance-hooks';
import { ALLOWLIST_PATHS, handleAllowlistRequest } from '@/lib/mcp/allowlist/http';
import { clientTraceId } from '@/lib/gateway/auth/headers';
import { traceDataPlaneRequest, traceRequest } from '@/lib/tracing/active';
import { handleHealthz, handleReadyz } from './health';
import { serveWithWebHandler, type WebHandler } from './node-adapter';
import { serveWithNodeHandler, type NodeHandler } from './reply';

export { pathOf } from './data-plane-request';

/**
 * Paths the Node server answers itself, without Next.js: probes now, and the gateway (/v1/*) and
 * MCP proxy as they land. They are hot paths or must work when the dashboard cannot, so they skip
 * Next's routing (see notes/performance-baseline.md: ~0.8 ms per request through Next vs ~0.13 ms).
 */
export interface DataPlaneRoute {
  /** An exact path, or a prefix ending in `/*` that matches everything below it. */
  path: string;
  /** The route for Web callers (and the Node server, when there is no `native`). */
  handler: WebHandler;
  /** The same route served from Node's request and response directly (hot paths: the gateway). */
  native?: NodeHandler;
}

function oauthHandler(request: Request): Promise<Response> {
  // Only OAUTH_PATHS are routed here, so the identity plane always answers.
  return routeOAuth(request) ?? Promise.resolve(new Response('not found', { status: 404 }));
}

/**
 * The handler inside an OpenTelemetry SERVER span (when an OTLP endpoint is configured) whose trace
 * id is the one the request's audit events get: the client's x-trace-id or traceparent, or else
 * the span's own, which the gateway and the audit trail then adopt (lib/tracing).
 */
function traced(route: string, handler: WebHandler): WebHandler {
  return (request) => traceRequest(request, route, clientTraceId(request.headers), () => handler(request));
}

function tracedNative(route: string, handler: NodeHandler): NodeHandler {
  return (request) => traceDataPlaneRequest(request, route, clientTraceId(request.headers), () => handler(request));
}

export const DATA_PLANE_ROUTES: readonly DataPlaneRoute[] = [
  // Probes are not traced: an orchestrator polls them every few seconds.
  { path: '/healthz', handler: handleHealthz },
  { path: '/readyz', handler: handleReadyz },
  ...OAUTH_PATHS.map((path) => ({ path, handler: traced(path, oauthHandler) })),
  // RFC 9728 metadata of the skills MCP server (/mcp) and of each proxied server (/mcp/servers/{name}).
  ...PROTECTED_RESOURCE_METADATA_PATHS.map((path) => ({ path, handler: traced(path, handleProtectedResourceMetadata) })),
  { path: PROXY_RESOURCE_METADATA_ROUTE, handler: traced(PROXY_RESOURCE_METADATA_ROUTE, handleProtectedResourceMetadata) },
  // The skills MCP server (Streamable HTTP).
  { path: MCP_PATH, handler: traced(MCP_PATH, handleMcpRequest) },
  // The MCP proxy: registered remote servers behind sign-in, tool policy and audit (Streamable HTTP).
  { path: MCP_PROXY_ROUTE, handler: traced(MCP_PROXY_ROUTE, handleMcpProxyRequest) },
  // Where registered servers' authorization servers send people back after they connected their account.
  { path: UPSTREAM_CALLBACK_PATH, handler: traced(UPSTREAM_CALLBACK_PATH, handleUpstreamCallback) },
  // The Anthropic-compatible gateway (/v1/*) and its bearer endpoints (managed settings, usage).
  ...GATEWAY_PATHS.map((path) => ({ path, handler: traced(path, handleGatewayRequest), native: tracedNative(path, serveGateway) })),
  // Claude Code's governance hooks: tool policy for the tools it runs on the device, every call audited.
  ...GOVERNANCE_HOOK_PATHS.map((path) => ({ path, handler: traced(path, handleGovernanceHook) })),
  // Org plugins: signed entitled sets, archives, sync reports, the marketplace, the org keys.
  ...PLUGIN_PATHS.map((path) => ({ path, handler: handlePluginRequest })),
  // The signed MCP allowlist and the same servers as a .mcp.json.
  ...ALLOWLIST_PATHS.map((path) => ({ path, handler: traced(path, handleAllowlistRequest) })),
];

function matches(route: DataPlaneRoute, pathname: string): boolean {
  if (route.path.endsWith('/*')) return pathname.startsWith(route.path.slice(0, -1));
  return pathname === route.path;
}

/**
 * The route for a request path (no query string), or null when Next should answer. Takes the
 * raw path so the server can decide before building anything.
 */
export function matchDataPlane(pathname: string, routes: readonly DataPlaneRoute[] = DATA_PLANE_ROUTES): DataPlaneRoute | null {
  for (const route of routes) if (matches(route, pathname)) return route;
  return null;
}

/** Serves a Node request on its route: natively when the route can, else through its Web handler. */
export function serveDataPlane(req: IncomingMessage, res: ServerResponse, route: DataPlaneRoute): Promise<void> {
  return route.native ? serveWithNodeHandler(req, res, route.native) : serveWithWebHandler(req, res, route.handler);
}

/** Web-standard entry: the data-plane response for this request, or null when it is not one. */
export function dataPlane(request: Request): Promise<Response> | null {
  const route = matchDataPlane(new URL(request.url).pathname);
  return route ? route.handler(request) : null;
}
