/**
 * The audit evidence of the proxy. Every tools/call, resources/read and prompts/get a client
 * makes, and every sampling/createMessage and elicitation/create an upstream makes of the client,
 * leaves two events sharing a call id (attributes.call_id, the first event's id) and trace id:
 *
 *   policy.decision  mcp_proxy.authorize   before anything is sent on: the decision and rule,
 *                                          the request's arguments (or sampling messages) in
 *                                          the content store under the configured retention.
 *                                          Committed before the request goes on; if it cannot
 *                                          be, the request is refused. A blocked request ends
 *                                          here (outcome denied).
 *   mcp.tool_call    mcp_proxy.<method>    how it ended: latency, result size or error (never
 *                                          the result's content). Written after the answer is
 *                                          passed on (background task): failing to record it
 *                                          does not change the answer.
 *
 * Refusals a client can repeat before any call is made (unknown server, out of scope, revoked)
 * are counted per user, server and minute (lib/audit/counted.ts).
 */
import { v7 as uuidv7 } from 'uuid';
import { appendAuditEvent, countAuditEvent, prepareContent, type AuditEventInput, type ContentKind, type PreparedContent } from '@/lib/audit';
import { configStore } from '@/lib/config';
import { clientTraceId } from '@/lib/gateway/auth/headers';
import type { McpCaller } from '../caller';
import type { ToolVerdict } from './policy';

export type ProxiedMethod = 'tools/call' | 'resources/read' | 'prompts/get' | 'sampling/createMessage' | 'elicitation/create';

const ACTIONS: Record<ProxiedMethod, string> = {
  'tools/call': 'mcp_proxy.tool_call',
  'resources/read': 'mcp_proxy.resource_read',
  'prompts/get': 'mcp_proxy.prompt_get',
  'sampling/createMessage': 'mcp_proxy.sampling',
  'elicitation/create': 'mcp_proxy.elicitation',
};

/** What the request's arguments are stored as: a sampling request is a prompt for the user's model (kinds the audit explorer shows). */
const CONTENT_KINDS: Record<ProxiedMethod, ContentKind> = {
  'tools/call': 'tool_arguments',
  'resources/read': 'tool_arguments',
  'prompts/get': 'tool_arguments',
  'sampling/createMessage': 'prompt',
  'elicitation/create': 'tool_arguments',
};

/** The action of every proxied request's decision event. */
export const DECISION_ACTION = 'mcp_proxy.authorize';

/** What the proxy audits as the call source of everything it serves. */
export const PROXY_CALL_SOURCE = 'mcp_proxy';

/** Resources and prompts are not under tool policy: being in the server's scope (access.ts) admits them. */
const SCOPE_VERDICT = { decision: 'allow', rule: 'mcp_proxy.scope', reason: "inside the server's scope (tool policy decides tool calls, sampling and elicitation)" } as const;

export interface ProxiedCall {
  /** Names this call in both its events: the decision event's id. */
  callId: string;
  caller: McpCaller;
  server: { id: string; name: string };
  method: ProxiedMethod;
  /** The tool or prompt name, or the resource URI; for requests of the upstream, the method. */
  subject: string;
  arguments?: unknown;
  /** Tool policy's verdict (tools/call, sampling, elicitation). */
  verdict?: ToolVerdict;
  mcpSessionId: string | undefined;
  /** The request's JSON-RPC id: the client's, or for requests of the upstream, the upstream's. */
  jsonRpcId: string | number;
  /** The request's params._meta, where a client may put its trace context. */
  meta: Record<string, unknown> | undefined;
}

export type ProxiedCallInput = Omit<ProxiedCall, 'callId'>;

export function proxiedCall(input: ProxiedCallInput): ProxiedCall {
  return { callId: uuidv7(), ...input };
}

export interface CallOutcome {
  outcome: 'success' | 'failure';
  durationMs: number;
  /** Bytes of the JSON result passed on. */
  resultBytes?: number;
  /** The tool reported an error result (isError), as opposed to a protocol error. */
  toolError?: boolean;
  /** elicitation/create: what the user did (accept, decline, cancel), not what they entered. */
  elicitationAction?: string;
  error?: { type: string; message: string };
}

/**
 * The trace id of one call: the caller's trace context in `params._meta` (`traceparent`, or
 * `x-trace-id` as on HTTP), else the HTTP request's (x-trace-id, traceparent), else a new one.
 */
export function callTraceId(caller: McpCaller, meta: Record<string, unknown> | undefined): string {
  const headers = new Headers();
  for (const name of ['traceparent', 'x-trace-id']) {
    const value = meta?.[name];
    if (typeof value === 'string' && value.length <= 200) headers.set(name, value);
  }
  return clientTraceId(headers) ?? caller.traceId;
}

function base(caller: McpCaller, server: { id?: string; name: string }, traceId: string): AuditEventInput {
  const { principal, record } = caller;
  const event: AuditEventInput = {
    tenant_id: principal.tenantId,
    event_type: 'mcp.tool_call',
    action: 'mcp_proxy.tool_call',
    outcome: 'success',
    trace_id: traceId,
    actor: { user_id: principal.userId, email: principal.email, roles: principal.roles, ...(principal.department ? { department: principal.department } : {}) },
    client_id: principal.clientId,
    call_source: PROXY_CALL_SOURCE,
    policy_version: record.caller.policyVersion,
    target: { type: 'mcp_server', ...(server.id ? { id: server.id } : {}), name: server.name },
  };
  if (record.ip || record.userAgent) event.origin = { ...(record.ip ? { ip: record.ip } : {}), ...(record.userAgent ? { user_agent: record.userAgent } : {}) };
  return event;
}

function argumentsContent(call: ProxiedCall): { rows: PreparedContent[]; failure?: string } {
  if (call.arguments === undefined) return { rows: [] };
  try {
    const retention = configStore().current().config.audit.content_retention_days;
    return { rows: [prepareContent({ tenant_id: call.caller.principal.tenantId, kind: CONTENT_KINDS[call.method], body: call.arguments, retention_days: retention })] };
  } catch (error) {
    return { rows: [], failure: (error instanceof Error ? error.message : String(error)).slice(0, 4000) };
  }
}

/** What both events of a call carry: who, which server and request, the decision. */
function callEvent(call: ProxiedCall): AuditEventInput & { attributes: Record<string, string | number | boolean> } {
  const event = { ...base(call.caller, call.server, callTraceId(call.caller, call.meta)), attributes: { call_id: call.callId } as Record<string, string | number | boolean> };
  event.mcp = {
    server: call.server.name,
    method: call.method,
    ...(call.method === 'tools/call' ? { tool: call.subject.slice(0, 200) } : {}),
    ...(call.method === 'resources/read' ? { resource_uri: call.subject.slice(0, 2000) } : {}),
    ...(call.mcpSessionId ? { session_id: call.mcpSessionId.slice(0, 200) } : {}),
    jsonrpc_request_id: typeof call.jsonRpcId === 'number' ? call.jsonRpcId : call.jsonRpcId.slice(0, 200),
  };
  const verdict = call.verdict ? { decision: call.verdict.decision, rule: call.verdict.ruleName, reason: call.verdict.reason } : SCOPE_VERDICT;
  event.policy = { decision: verdict.decision, rule: verdict.rule, reason: verdict.reason.slice(0, 2000) };
  if (call.method === 'prompts/get') event.attributes.prompt = call.subject.slice(0, 500);
  if (call.verdict?.rule) event.attributes.rule_description = call.verdict.rule.description.slice(0, 500);
  return event;
}

/**
 * The decision on one request, with its arguments, before it is sent on (or as its refusal);
 * resolves once committed. `refused` makes it the record of a blocked request.
 */
export async function recordProxiedDecision(call: ProxiedCall, refused?: { type: string; message: string }): Promise<void> {
  const event = callEvent(call);
  event.event_id = call.callId;
  event.event_type = 'policy.decision';
  event.action = DECISION_ACTION;
  event.outcome = refused ? 'denied' : 'success';
  if (refused) {
    event.mcp = { ...event.mcp!, is_error: true };
    event.error = { type: refused.type.slice(0, 200), message: refused.message.slice(0, 4000) };
  }
  const content = argumentsContent(call);
  if (content.failure) event.attributes.arguments_not_stored = content.failure;
  if (content.rows.length) event.content_refs = content.rows.map((row) => row.ref);
  await appendAuditEvent(event, { content: content.rows });
}

/** How a request that was sent on ended; resolves once committed. */
export async function recordProxiedOutcome(call: ProxiedCall, result: CallOutcome): Promise<void> {
  const event = callEvent(call);
  event.event_type = 'mcp.tool_call';
  event.action = ACTIONS[call.method];
  event.outcome = result.outcome;
  event.mcp = { ...event.mcp!, is_error: result.outcome !== 'success' || result.toolError === true, duration_ms: Math.max(0, Math.round(result.durationMs)) };
  if (result.error) event.error = { type: result.error.type.slice(0, 200), message: result.error.message.slice(0, 4000) };
  if (result.resultBytes !== undefined) event.attributes.result_bytes = result.resultBytes;
  if (result.elicitationAction) event.attributes.elicitation_action = result.elicitationAction.slice(0, 50);
  await appendAuditEvent(event);
}

export interface SessionRefusal {
  caller: McpCaller;
  serverName: string;
  serverId?: string;
  /** policy rule: mcp_proxy.unknown_server, mcp_proxy.scope, mcp_proxy.revoked, mcp_proxy.not_approved, mcp_proxy.upstream_grant */
  rule: string;
  reason: string;
  status: number;
}

/**
 * A refusal before any call reaches the upstream (opening or continuing a session): counted per
 * user, server and rule and minute, since a client retries these in a loop.
 */
export function countSessionRefusal(refusal: SessionRefusal): void {
  const { principal } = refusal.caller;
  const event = base(refusal.caller, { id: refusal.serverId, name: refusal.serverName }, refusal.caller.traceId);
  event.event_type = 'policy.decision';
  event.action = 'mcp_proxy.connect';
  event.outcome = 'denied';
  event.mcp = { server: refusal.serverName, method: 'connect' };
  event.policy = { decision: 'deny', rule: refusal.rule, reason: refusal.reason.slice(0, 2000) };
  event.error = { type: 'policy_denied', status: refusal.status };
  countAuditEvent({ key: `mcp_proxy.connect\u0000${principal.tenantId}\u0000${principal.userId}\u0000${refusal.serverName}\u0000${refusal.rule}`, event });
}

/**
 * "Which MCP servers did this agent reach, and was it allowed to": per server, method, tool and
 * decision, for one user and OAuth client ($1 tenant, $2 user id, $3 client id, $4 since), from
 * the decision events (one per request, and the session refusals): outcome `success` went on,
 * `denied` did not. Refusals before any server (no mcp.use, rate limit) have no server. Quoted
 * in README.md.
 */
export const MCP_REACH_SQL = `SELECT event->'mcp'->>'server' AS server, event->'mcp'->>'method' AS method,
       event->'mcp'->>'tool' AS tool, event->'policy'->>'decision' AS decision,
       event->'policy'->>'rule' AS rule, outcome, count(*) AS calls, max(occurred_at) AS last_at
  FROM audit_events
 WHERE tenant_id = $1 AND actor_user_id = $2 AND event->>'client_id' = $3
   AND event->>'call_source' = 'mcp_proxy' AND event_type = 'policy.decision'
   AND occurred_at >= $4
 GROUP BY 1, 2, 3, 4, 5, 6
 ORDER BY 1, 2, 3;`;
