/**
 * The one way into the gateway's data plane. Every endpoint a bearer token reaches (/v1/messages,
 * count_tokens, models, usage, managed settings, OTLP ingest) is wrapped once, so each gets the
 * same steps in the same order:
 *
 *   canonical headers → method → authenticate (cached, spoof-checked) → permission (RBAC)
 *   → per-endpoint rate limit → handler (which parses its body) → error map → response headers
 *
 * Refusals the wrapper makes are audited here: rejected tokens counted per user or address and
 * minute, spoofed identity headers as policy decisions, missing permissions and rate-limited
 * requests counted per user and minute. Every 401 and 403 carries `x-should-retry: false`, so
 * clients ask the user instead of retrying into the same answer.
 */
import { configStore, type ConfigSnapshot } from '@/lib/config';
import { anthropicError, GatewayError, knownErrorResponse } from '@/lib/gateway/errors';
import { countPolicyDecision } from '@/lib/gateway/evidence';
import { webDataPlaneRequest, type DataPlaneRequest, type WebDataPlaneRequest } from '@/lib/http/data-plane-request';
import { toWebResponse, type DataPlaneReply } from '@/lib/http/reply';
import { withHeaders } from '@/lib/http/with-headers';
import { gatewayLimits } from '@/lib/gateway/limits';
import { authorize, PERMISSION_DESCRIPTIONS, type Permission } from '@/lib/rbac';
import { noteSettingsReport } from '@/lib/mdm/checksums';
import { noteActivity } from '@/lib/users/activity';
import { readCanonicalHeaders, readTraceIdLeniently } from './headers';
import { authenticateCaller, type GatewayRequestBasics, type GatewayRequestContext } from './index';

export type GatewayHandler<R extends DataPlaneRequest = DataPlaneRequest> = (request: R, context: GatewayRequestContext) => Promise<DataPlaneReply>;

/** An endpoint written against a Web `Request` (plugins, governance hooks, the MCP allowlist). */
export type WebGatewayHandler = (request: Request, context: GatewayRequestContext) => Promise<Response>;

/** A per-user requests-per-minute limit an endpoint has of its own. */
export interface EndpointRateLimit {
  /** Counter name, also the rule in errors and audit (`limits.<counter>_per_minute`). */
  counter: string;
  perMinute(snapshot: ConfigSnapshot): number;
}

export interface CallerOptions {
  /** HTTP methods served (HEAD is served wherever GET is). */
  methods: readonly ('GET' | 'POST')[];
  /** What the caller's roles must grant, in the caller's own department (requests act there). */
  permission: Permission;
  rateLimit?: EndpointRateLimit;
}

/** Headers every gateway answer carries, so a client and an operator can find the call. */
export function traceHeaders(basics: GatewayRequestBasics): Record<string, string> {
  return { 'x-trace-id': basics.headers.traceId, 'x-policy-version': basics.snapshot.policyVersion };
}

/** Headers every answer gets on its way out, whichever step produced it. */
function finish(request: DataPlaneRequest, response: DataPlaneReply, extra: Record<string, string>): DataPlaneReply {
  const headers = { ...extra };
  // Neither a new sign-in nor new roles will come from retrying: the SDK must surface it at once.
  if (response.status === 401 || response.status === 403) headers['x-should-retry'] = 'false';
  // Refused before its body was read (no token, over the size cap, chunked): the unread body is
  // still on the connection, so it cannot carry another request. Close it rather than read it.
  if (request.bodyPending) headers.connection = 'close';
  if (response instanceof Response) return withHeaders(response, headers);
  Object.assign(response.headers, headers);
  return response;
}

function allows(options: CallerOptions, method: string): boolean {
  return options.methods.some((allowed) => allowed === method || (allowed === 'GET' && method === 'HEAD'));
}

function methodNotAllowed(options: CallerOptions): Response {
  const allow = options.methods.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method])).join(', ');
  return anthropicError('invalid_request_error', `use ${options.methods[0]} here`, { status: 405, headers: { allow } });
}

async function authorised(request: DataPlaneRequest, context: GatewayRequestContext, permission: Permission): Promise<Response | null> {
  const { principal } = context.caller;
  if (await authorize(principal, permission, { departmentSlug: principal.department })) return null;
  // Counted per user and minute: a client without the permission keeps calling (an OTLP exporter
  // every few seconds, Claude Code polling its settings), and must not write an event each time.
  countPolicyDecision(
    context.record,
    { action: `${permission.split('.')[0]}.authorize`, decision: 'deny', rule: `rbac.${permission}`, reason: `no role of the caller grants ${permission}`, status: 403 },
    { endpoint: request.path.slice(0, 100) },
  );
  return anthropicError('permission_error', `your roles in Gatehouse do not allow this (${PERMISSION_DESCRIPTIONS[permission].toLowerCase()}: permission ${permission})`);
}

async function withinRate(context: GatewayRequestContext, limit: EndpointRateLimit): Promise<Response | null> {
  const admission = await gatewayLimits().admitRequestRate(context.caller.principal, limit.counter, limit.perMinute(context.snapshot));
  if (admission.ok) return null;
  // A client looping on a 429 must not write one event per try: counted per user and minute.
  countPolicyDecision(context.record, { action: 'limits.admit', decision: 'deny', rule: admission.rule, reason: `refused by ${admission.rule}`, status: admission.response.status });
  return admission.response;
}

async function run<R extends DataPlaneRequest>(request: R, basics: GatewayRequestBasics, options: CallerOptions, handler: GatewayHandler<R>): Promise<DataPlaneReply> {
  if (!allows(options, request.method)) return methodNotAllowed(options);
  const authentication = await authenticateCaller(request, basics.headers, basics.snapshot);
  if (!authentication.ok) return authentication.response;
  const context: GatewayRequestContext = { ...basics, caller: authentication.caller, record: authentication.record };
  noteActivity(authentication.caller.principal);
  noteSettingsReport(request.headers, authentication.caller.principal);
  const refused = (await authorised(request, context, options.permission)) ?? (options.rateLimit ? await withinRate(context, options.rateLimit) : null);
  if (refused) return refused;
  return handler(request, context);
}

/** Wraps a gateway endpoint: `handler` runs only for an authenticated caller holding `permission`. */
export function withGatewayCaller<R extends DataPlaneRequest>(options: CallerOptions, handler: GatewayHandler<R>): (request: R) => Promise<DataPlaneReply> {
  return async (request) => {
    const snapshot = configStore().current();
    const startedAt = performance.now();
    let basics: GatewayRequestBasics;
    try {
      basics = { headers: readCanonicalHeaders(request.headers), snapshot, startedAt };
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      return finish(request, error.toResponse(), { 'x-trace-id': readTraceIdLeniently(request.headers), 'x-policy-version': snapshot.policyVersion });
    }
    let response: DataPlaneReply;
    try {
      response = await run(request, basics, options, handler);
    } catch (error) {
      const known = knownErrorResponse(error);
      if (!known) {
        console.error(`gateway: ${request.method} ${request.path} (trace ${basics.headers.traceId}) failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
      response = known ?? anthropicError('api_error', 'Gatehouse failed while handling this request');
    }
    return finish(request, response, traceHeaders(basics));
  };
}

/** withGatewayCaller for an endpoint written against a Web `Request`: the same steps, a Web answer. */
export function withGatewayCallerOnWeb(options: CallerOptions, handler: WebGatewayHandler): (request: Request) => Promise<Response> {
  const wrapped = withGatewayCaller<WebDataPlaneRequest>(options, (request, context) => handler(request.web, context));
  return async (request) => toWebResponse(await wrapped(webDataPlaneRequest(request)));
}
