/**
 * The audit evidence of the proxy: every tools/call, resources/read and prompts/get is one
 * `mcp.tool_call` event (method, server, tool, the policy decision and rule, latency, result size
 * or error, the caller's trace id), with the call's arguments in the content store (kind
 * tool_arguments) under the configured retention, committed in the event's transaction.
 * Refusals a client can repeat before any call is made (unknown server, out of scope, revoked)
 * are counted per user, server and minute (lib/audit/counted.ts).
 */
import { appendAuditEvent, countAuditEvent, prepareContent, type AuditEventInput, type PreparedContent } from '@/lib/audit';
import { configStore } from '@/lib/config';
import { clientTraceId } from '@/lib/gateway/auth/headers';
import type { McpCaller } from '../caller';
import type { ToolVerdict } from './policy';

export type ProxiedMethod = 'tools/call' | 'resources/read' | 'prompts/get';

const ACTIONS: Record<ProxiedMethod, string> = { 'tools/call': 'mcp_proxy.tool_call', 'resources/read': 'mcp_proxy.resource_read', 'prompts/get': 'mcp_proxy.prompt_get' };

/** What the proxy audits as the call source of everything it serves. */
export const PROXY_CALL_SOURCE = 'mcp_proxy';

export interface ProxiedCall {
  caller: McpCaller;
  server: { id: string; name: string };
  method: ProxiedMethod;
  /** The tool or prompt name, or the resource URI. */
  subject: string;
  arguments?: unknown;
  /** tools/call only: the tool policy's verdict. */
  verdict?: ToolVerdict;
  mcpSessionId: string | undefined;
  jsonRpcId: string | number;
  /** The request's params._meta, where a client may put its trace context. */
  meta: Record<string, unknown> | undefined;
}

export interface CallOutcome {
  outcome: 'success' | 'failure' | 'denied';
  durationMs: number;
  /** Bytes of the JSON result returned to the client. */
  resultBytes?: number;
  /** The tool reported an error result (isError), as opposed to a protocol error. */
  toolError?: boolean;
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

function argumentsContent(caller: McpCaller, value: unknown): { rows: PreparedContent[]; failure?: string } {
  if (value === undefined) return { rows: [] };
  try {
    return { rows: [prepareContent({ tenant_id: caller.principal.tenantId, kind: 'tool_arguments', body: value, retention_days: configStore().current().config.audit.content_retention_days })] };
  } catch (error) {
    return { rows: [], failure: (error instanceof Error ? error.message : String(error)).slice(0, 4000) };
  }
}

/** Records one proxied call once it is answered (or refused); resolves once committed. */
export async function recordProxiedCall(call: ProxiedCall, result: CallOutcome): Promise<void> {
  const event = base(call.caller, call.server, callTraceId(call.caller, call.meta));
  event.action = ACTIONS[call.method];
  event.outcome = result.outcome;
  event.mcp = {
    server: call.server.name,
    method: call.method,
    ...(call.method === 'tools/call' ? { tool: call.subject.slice(0, 200) } : {}),
    ...(call.method === 'resources/read' ? { resource_uri: call.subject.slice(0, 2000) } : {}),
    ...(call.mcpSessionId ? { session_id: call.mcpSessionId.slice(0, 200) } : {}),
    jsonrpc_request_id: typeof call.jsonRpcId === 'number' ? call.jsonRpcId : call.jsonRpcId.slice(0, 200),
    is_error: result.outcome !== 'success' || result.toolError === true,
    duration_ms: Math.max(0, Math.round(result.durationMs)),
  };
  if (call.verdict) event.policy = { decision: call.verdict.decision, rule: call.verdict.ruleName, reason: call.verdict.reason.slice(0, 2000) };
  if (result.error) event.error = { type: result.error.type.slice(0, 200), message: result.error.message.slice(0, 4000) };
  const content = argumentsContent(call.caller, call.arguments);
  const attributes: Record<string, string | number | boolean> = {};
  if (call.method === 'prompts/get') attributes.prompt = call.subject.slice(0, 500);
  if (call.verdict?.rule) attributes.rule_description = call.verdict.rule.description.slice(0, 500);
  if (result.resultBytes !== undefined) attributes.result_bytes = result.resultBytes;
  if (content.failure) attributes.arguments_not_stored = content.failure;
  if (Object.keys(attributes).length) event.attributes = attributes;
  if (content.rows.length) event.content_refs = content.rows.map((row) => row.ref);
  await appendAuditEvent(event, { content: content.rows });
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
 * decision, for one user and OAuth client ($1 tenant, $2 user id, $3 client id, $4 since).
 * Refusals before any server (no mcp.use, rate limit) have no server. Quoted in README.md.
 */
export const MCP_REACH_SQL = `SELECT event->'mcp'->>'server' AS server, event->'mcp'->>'method' AS method,
       event->'mcp'->>'tool' AS tool, event->'policy'->>'decision' AS decision,
       event->'policy'->>'rule' AS rule, outcome, count(*) AS calls, max(occurred_at) AS last_at
  FROM audit_events
 WHERE tenant_id = $1 AND actor_user_id = $2 AND event->>'client_id' = $3
   AND event->>'call_source' = 'mcp_proxy' AND occurred_at >= $4
 GROUP BY 1, 2, 3, 4, 5, 6
 ORDER BY 1, 2, 3;`;
