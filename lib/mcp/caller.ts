/**
 * The one way into Gatehouse's MCP endpoints (the skills server at /mcp and the proxy at
 * /mcp/servers/{name}), the MCP counterpart of the gateway's withGatewayCaller:
 *
 *   CORS preflight → resolve the endpoint's resource → authenticate (token for this resource
 *   only) → RBAC (the endpoint's permission) → rate limit → handler → error map → trace header
 *
 * A missing, expired or otherwise refused token gets the MCP authorization challenge: 401 with
 * `WWW-Authenticate: Bearer resource_metadata="…/.well-known/oauth-protected-resource/<path>"`
 * (plus error="invalid_token" when a token was sent), which is how a client holding only the URL
 * finds the authorization server. Refusals are audited as the gateway's are: rejected tokens
 * counted per user or address and minute, missing permission and rate limit counted per user and
 * minute. Handlers audit what they serve (present.ts, proxy/evidence.ts).
 */
import { configStore } from '@/lib/config';
import type { GatewayCaller } from '@/lib/gateway/contracts';
import { callRecord, countPolicyDecision, countRejectedToken, type CallRecord } from '@/lib/gateway/evidence';
import { gatewayLimits } from '@/lib/gateway/limits';
import { readTraceIdLeniently, verifyGatewayToken } from '@/lib/gateway/auth';
import { withHeaders } from '@/lib/http/with-headers';
import { authorize, PERMISSION_DESCRIPTIONS, type Permission } from '@/lib/rbac';
import { AccessTokenError, bearerChallengeResponse, bearerToken, type Principal } from '@/lib/tokens';
import { noteActivity } from '@/lib/users/activity';
import { McpHttpError } from './errors';
import { MCP_PROXY_PATH_PREFIX, mcpResource, protectedResourceMetadataUrl } from './resource';

export interface McpCaller {
  principal: Principal;
  traceId: string;
  /** The endpoint path the request addressed (`/mcp`, `/mcp/servers/github`): its resource. */
  path: string;
  /** What every audit event of this request shares (who, trace, origin). */
  record: CallRecord;
}

export type McpHandler = (request: Request, caller: McpCaller) => Promise<Response>;

/** What differs between the MCP endpoints; the steps and their order do not. */
export interface McpEndpoint {
  /** What the caller's roles must grant, in the caller's own department. */
  permission: Permission;
  /** The audit events' call_source. */
  callSource: string;
  /** The endpoint path a request addresses, or null when the path names no endpoint (404). */
  pathOf(request: Request): string | null;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'www-authenticate, mcp-session-id, mcp-protocol-version, x-trace-id',
};

function preflight(): Response {
  return new Response(null, {
    status: 204,
    headers: {
      ...CORS,
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': 'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id',
      'access-control-max-age': '86400',
    },
  });
}

async function authenticate(request: Request, path: string, traceId: string): Promise<Principal | Response> {
  const token = bearerToken(request);
  try {
    return await verifyGatewayToken(token, mcpResource(undefined, path));
  } catch (error) {
    if (!(error instanceof AccessTokenError)) throw error;
    await countRejectedToken({ headers: request.headers, path }, token, error, traceId);
    return bearerChallengeResponse(error, { resourceMetadata: protectedResourceMetadataUrl(undefined, path) });
  }
}

async function admit(endpoint: McpEndpoint, request: Request, caller: McpCaller): Promise<void> {
  const { principal } = caller;
  const { permission } = endpoint;
  if (!(await authorize(principal, permission, { departmentSlug: principal.department }))) {
    countPolicyDecision(caller.record, { action: `${permission.split('.')[0]}.authorize`, decision: 'deny', rule: `rbac.${permission}`, reason: `no role of the caller grants ${permission}`, status: 403 }, { endpoint: new URL(request.url).pathname.slice(0, 100) });
    throw new McpHttpError(403, `your roles in Gatehouse do not allow this (${PERMISSION_DESCRIPTIONS[permission].toLowerCase()}: permission ${permission})`);
  }
  const snapshot = configStore().current();
  // One budget for a user's MCP traffic, whichever endpoint it goes to.
  const admission = await gatewayLimits().admitRequestRate(principal, 'mcp_requests', snapshot.config.limits.mcp_requests_per_minute);
  if (!admission.ok) {
    countPolicyDecision(caller.record, { action: 'limits.admit', decision: 'deny', rule: admission.rule, reason: `refused by ${admission.rule}`, status: admission.response.status });
    const retryAfter = admission.response.headers.get('retry-after');
    throw new McpHttpError(admission.response.status, admission.rule === 'limits.store_unavailable' ? 'rate limits cannot be checked right now; try again shortly' : `rate limit reached: ${snapshot.config.limits.mcp_requests_per_minute} MCP requests per minute`, retryAfter ? { 'retry-after': retryAfter } : {});
  }
}

/** Wraps an MCP endpoint: `handler` runs only for an authenticated caller holding the endpoint's permission, within its rate. */
export function withMcpCaller(endpoint: McpEndpoint, handler: McpHandler): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method === 'OPTIONS') return preflight();
    const traceId = readTraceIdLeniently(request.headers);
    let response: Response;
    try {
      const path = endpoint.pathOf(request);
      if (path === null) throw new McpHttpError(404, `no MCP endpoint at this path (registered servers are at ${MCP_PROXY_PATH_PREFIX}<name>)`, {}, -32601);
      const authenticated = await authenticate(request, path, traceId);
      if (authenticated instanceof Response) {
        response = authenticated;
      } else {
        const principal = authenticated;
        noteActivity(principal);
        const gatewayCaller: GatewayCaller = {
          principal,
          traceId,
          sessionId: request.headers.get('mcp-session-id')?.slice(0, 200) ?? null,
          callSource: endpoint.callSource,
          clientId: principal.clientId,
          policyVersion: configStore().current().policyVersion,
        };
        const caller: McpCaller = { principal, traceId, path, record: callRecord(gatewayCaller, request, null) };
        await admit(endpoint, request, caller);
        response = await handler(request, caller);
      }
    } catch (error) {
      if (error instanceof McpHttpError) response = error.toResponse();
      else {
        console.error(`mcp: ${request.method} ${new URL(request.url).pathname} (trace ${traceId}) failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        response = new McpHttpError(500, 'Gatehouse failed while handling this request', {}, -32603).toResponse();
      }
    }
    return withHeaders(response, { ...CORS, 'x-trace-id': traceId });
  };
}
