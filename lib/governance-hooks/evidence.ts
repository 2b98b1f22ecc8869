// Every tool call Claude Code makes under the governance hooks, in the audit trail: the decision
// before it runs (policy.decision, the arguments in the content table with credentials redacted)
// and how it ended (mcp.tool_call, the result's size but not its content). Both carry the Claude
// Code session id and the hook call's trace id.
import { appendAuditEvent, canonicalJson, countAuditEvent, prepareContent, type PreparedContent } from '@/lib/audit';
import { callEventBase, sealCallEvent, type CallRecord } from '@/lib/gateway/evidence';
import { findSecrets, redactSecrets } from '@/lib/gateway/policy';
import type { HookInput } from './input';
import { HOOK_CALL_SOURCE } from './paths';
import type { HookVerdict } from './policy';
import { policyTarget } from './tool-names';

const PERMISSION: Record<HookVerdict['decision'], 'allow' | 'ask' | 'deny'> = { allow: 'allow', ask: 'ask', block: 'deny' };

type ToolCallInput = HookInput<'PreToolUse'> | HookInput<'PostToolUse'> | HookInput<'PostToolUseFailure'>;

function toolCallEvent(record: CallRecord, input: ToolCallInput) {
  const event = callEventBase(record);
  const target = policyTarget(input.tool_name);
  event.call_source = HOOK_CALL_SOURCE;
  event.session_id = input.session_id;
  event.mcp = { server: target.server.slice(0, 200), method: 'tools/call', tool: target.tool.slice(0, 200), session_id: input.session_id };
  event.gen_ai = { operation: 'execute_tool', provider: 'claude_code', tool_name: input.tool_name.slice(0, 200), ...(input.tool_use_id ? { tool_call_id: input.tool_use_id } : {}) };
  event.attributes.hook_event = input.hook_event_name;
  event.attributes.call_id = record.callId;
  if (input.permission_mode) event.attributes.permission_mode = input.permission_mode;
  if (input.agent_id) event.attributes.agent_id = input.agent_id;
  return event;
}

/** `text` with every credential the gateway's secret scanner finds replaced by `[REDACTED:<rule>]`. */
async function redacted(text: string): Promise<string> {
  const findings = await findSecrets(text);
  return findings.length ? redactSecrets(text, findings) : text;
}

/**
 * The arguments as stored: canonical JSON with every credential the gateway's secret scanner
 * finds replaced by `[REDACTED:<rule>]`, so a token typed into a command never reaches the
 * content table.
 */
async function redactedArguments(record: CallRecord, args: unknown, retentionDays: number): Promise<{ content: PreparedContent; redactions: number } | { reason: string }> {
  try {
    const text = canonicalJson(args ?? {});
    const findings = await findSecrets(text);
    const body = findings.length ? redactSecrets(text, findings) : text;
    return { content: prepareContent({ tenant_id: record.caller.principal.tenantId, kind: 'tool_arguments', body, media_type: 'application/json', retention_days: retentionDays }), redactions: findings.length };
  } catch (error) {
    return { reason: (error instanceof Error ? error.message : String(error)).slice(0, 4000) };
  }
}

/** The PreToolUse decision, committed with the arguments before the answer goes back. */
export async function recordToolDecision(record: CallRecord, input: HookInput<'PreToolUse'>, verdict: HookVerdict, retentionDays: number): Promise<void> {
  const event = toolCallEvent(record, input);
  event.event_type = 'policy.decision';
  event.action = 'tool.authorize';
  event.outcome = verdict.decision === 'block' ? 'denied' : 'success';
  event.policy = { decision: verdict.decision, rule: verdict.ruleName, reason: verdict.reason.slice(0, 2000) };
  event.attributes.permission_decision = PERMISSION[verdict.decision];
  event.attributes.fail_mode = verdict.failMode;
  const stored = await redactedArguments(record, input.tool_input, retentionDays);
  if ('content' in stored) {
    event.content_refs = [stored.content.ref];
    if (stored.redactions) event.attributes.secrets_redacted = stored.redactions;
  } else {
    event.attributes.arguments_not_stored = true;
    event.attributes.arguments_not_stored_reason = stored.reason;
  }
  await appendAuditEvent(sealCallEvent(event), { content: 'content' in stored ? [stored.content] : [] });
}

function byteLength(value: unknown): number {
  if (value === undefined) return 0;
  return Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value) ?? '');
}

/** How a tool call ended (PostToolUse or PostToolUseFailure): its result's size, never its content. */
export async function recordToolResult(record: CallRecord, input: HookInput<'PostToolUse'> | HookInput<'PostToolUseFailure'>): Promise<void> {
  const event = toolCallEvent(record, input);
  const failed = input.hook_event_name === 'PostToolUseFailure';
  event.event_type = 'mcp.tool_call';
  event.action = 'tools.call';
  event.outcome = failed ? 'failure' : 'success';
  event.mcp = { ...event.mcp!, is_error: failed, ...(input.duration_ms !== undefined ? { duration_ms: Math.round(input.duration_ms) } : {}) };
  if (input.duration_ms !== undefined) event.gen_ai = { ...event.gen_ai!, duration_ms: Math.round(input.duration_ms) };
  if (failed) {
    // A failed command's error carries its output, and audit events are kept for good (no
    // content retention): credentials in it are redacted like the arguments.
    const message = typeof input.error === 'string' ? input.error : JSON.stringify(input.error ?? 'the tool failed');
    event.error = { type: 'tool_error', message: (await redacted(message)).slice(0, 4000) };
  } else {
    event.attributes.result_bytes = byteLength(input.tool_response);
  }
  await appendAuditEvent(sealCallEvent(event));
}

/**
 * A session start or a submitted prompt: client activity, neither a model call (the gateway
 * records the prompt itself) nor a decision, so `system.housekeeping` like telemetry ingest.
 * Counted per session and minute: a script replaying prompts adds one event a minute.
 */
export function countSessionActivity(record: CallRecord, input: HookInput<'UserPromptSubmit'> | HookInput<'SessionStart'>): void {
  const event = callEventBase(record);
  const { principal } = record.caller;
  const action = input.hook_event_name === 'SessionStart' ? 'claude_code.session_start' : 'claude_code.prompt_submit';
  event.event_type = 'system.housekeeping';
  event.action = action;
  event.call_source = HOOK_CALL_SOURCE;
  event.session_id = input.session_id;
  event.attributes.hook_event = input.hook_event_name;
  if (input.hook_event_name === 'SessionStart') {
    if (input.source) event.attributes.source = input.source;
    if (input.model) event.attributes.model = input.model;
  }
  countAuditEvent({
    key: `${action}\u0000${principal.tenantId}\u0000${principal.userId}\u0000${input.session_id}`,
    event: sealCallEvent(event),
    sums: input.hook_event_name === 'UserPromptSubmit' ? { prompt_bytes: byteLength(input.prompt ?? '') } : {},
  });
}
