/**
 * The one way into the skills MCP server (/mcp), the MCP counterpart of the gateway's
 * withGatewayCaller:
 *
 *   CORS preflight → authenticate (token for this resource only) → RBAC skills.read → rate limit
 *   → handler → error map → trace header
 *
 * A missing, expired or otherwise refused token gets the MCP authorization challenge: 401 with
 * `WWW-Authenticate: Bearer resource_metadata="…/.well-known/oauth-protected-resource/mcp"`
 * (plus error="invalid_token" when a token was sent), which is how a client holding only the URL
 * finds the authorization server. Refusals are audited as the gateway's are: rejected tokens
 * counted per user or address and minute, missing permission and rate limit counted per user and
 * minute. The handler audits each skill it serves (present.ts).
 */
import { configStore } from '@/lib/config';
import type { GatewayCaller } from '@/lib/gateway/contracts';
import { callRecord, countPolicyDecision, countRejectedToken, type CallRecord } from '@/lib/gateway/evidence';
import { gatewayLimits } from '@/lib/gateway/limits';
import { readTraceIdLeniently, verifyGatewayToken } from '@/lib/gateway/auth';
import { authorize } from '@/lib/rbac';
import { AccessTokenError, bearerChallengeResponse, bearerToken, type Principal } from '@/lib/tokens';
import { noteActivity } from '@/lib/users/activity';
import { McpHttpError } from './errors';
import { mcpResource, protectedResourceMetadataUrl } from './resource';

export interface McpCaller {
  principal: Principal;
  traceId: string;
  /** What every audit event of this request shares (who, trace, origin). */
  record: CallRecord;
}

export type McpHandler = (request: Request, caller: McpCaller) => Promise<Response>;

const PERMISSION = 'skills.read';

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

function withHeaders(response: Response, extra: Record<string, string>): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function authenticate(request: Request, traceId: string): Promise<Principal | Response> {
  const token = bearerToken(request);
  try {
    return await verifyGatewayToken(token, mcpResource());
  } catch (error) {
    if (!(error instanceof AccessTokenError)) throw error;
    await countRejectedToken(request, token, error, traceId);
    return bearerChallengeResponse(error, { resourceMetadata: protectedResourceMetadataUrl() });
  }
}

async function admit(request: Request, caller: McpCaller): Promise<void> {
  const { principal } = caller;
  if (!(await authorize(principal, PERMISSION, { departmentSlug: principal.department }))) {
    countPolicyDecision(caller.record, { action: 'skills.authorize', decision: 'deny', rule: `rbac.${PERMISSION}`, reason: `no role of the caller grants ${PERMISSION}`, status: 403 }, { endpoint: new URL(request.url).pathname.slice(0, 100) });
    throw new McpHttpError(403, `your roles in Gatehouse do not allow using skills (permission ${PERMISSION})`);
  }
  const snapshot = configStore().current();
  const admission = await gatewayLimits().admitRequestRate(principal, 'mcp_requests', snapshot.config.limits.mcp_requests_per_minute);
  if (!admission.ok) {
    countPolicyDecision(caller.record, { action: 'limits.admit', decision: 'deny', rule: admission.rule, reason: `refused by ${admission.rule}`, status: admission.response.status });
    const retryAfter = admission.response.headers.get('retry-after');
    throw new McpHttpError(admission.response.status, admission.rule === 'limits.store_unavailable' ? 'rate limits cannot be checked right now; try again shortly' : `rate limit reached: ${snapshot.config.limits.mcp_requests_per_minute} skills requests per minute`, retryAfter ? { 'retry-after': retryAfter } : {});
  }
}

/** Wraps the MCP endpoint: `handler` runs only for an authenticated caller holding skills.read, within its rate. */
export function withMcpCaller(handler: McpHandler): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method === 'OPTIONS') return preflight();
    const traceId = readTraceIdLeniently(request.headers);
    let response: Response;
    try {
      const authenticated = await authenticate(request, traceId);
      if (authenticated instanceof Response) {
        response = authenticated;
      } else {
        const principal = authenticated;
        noteActivity(principal);
        const gatewayCaller: GatewayCaller = {
          principal,
          traceId,
          sessionId: request.headers.get('mcp-session-id')?.slice(0, 200) ?? null,
          callSource: 'mcp',
          clientId: principal.clientId,
          policyVersion: configStore().current().policyVersion,
        };
        const caller: McpCaller = { principal, traceId, record: callRecord(gatewayCaller, request, null) };
        await admit(request, caller);
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
