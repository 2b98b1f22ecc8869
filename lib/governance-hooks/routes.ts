// The governance hooks' endpoints on the data plane: POST /hooks/claude-code/<event>. One wrapper
// serves them all: the gateway's own (withGatewayCaller: the same bearer tokens, spoof checks,
// RBAC and refusal auditing as /v1/messages), with its refusals turned into the hook's own output.
import { withGatewayCallerOnWeb, type WebGatewayHandler } from '@/lib/gateway/auth/with-caller';
import type { GatewayRequestContext } from '@/lib/gateway/auth';
import { countPolicyDecision } from '@/lib/gateway/evidence';
import { readCappedText } from '@/lib/http/capped-body';
import { describeIssues } from '@/lib/tool-policy';
import { countSessionActivity, recordToolDecision, recordToolResult } from './evidence';
import { hookInputSchemas, MAX_HOOK_BODY_BYTES, type HookInput } from './input';
import { acknowledged, preToolUseAnswer, refusal, type PermissionDecision } from './output';
import { decideHookToolCall, type HookVerdict } from './policy';
import { HOOK_EVENTS, HOOK_PATHS, type HookEvent } from './paths';

const PERMISSION: Record<HookVerdict['decision'], PermissionDecision> = { allow: 'allow', ask: 'ask', block: 'deny' };

/** What the person and Claude read: the deciding rule is named in the engine's reason. */
function reasonOf(verdict: HookVerdict): string {
  if (verdict.decision === 'block') return `Blocked by Gatehouse: ${verdict.reason}`;
  if (verdict.decision === 'ask') return `Gatehouse asks you to confirm: ${verdict.reason}`;
  return `Allowed by Gatehouse: ${verdict.reason}`;
}

type Parsed<E extends HookEvent> = { ok: true; input: HookInput<E> } | { ok: false; reason: string };

async function parse<E extends HookEvent>(event: E, request: Request): Promise<Parsed<E>> {
  const text = await readCappedText(request, MAX_HOOK_BODY_BYTES);
  if (text === null) return { ok: false, reason: `the hook input is over ${MAX_HOOK_BODY_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the hook input is not JSON' };
  }
  const result = hookInputSchemas[event].safeParse(json);
  if (!result.success) return { ok: false, reason: `the hook input is not a ${event} event (${describeIssues(result.error)})` };
  return { ok: true, input: result.data as HookInput<E> };
}

/** A hook call whose body Gatehouse cannot read: refused, counted per user and minute. */
function unreadable(event: HookEvent, context: GatewayRequestContext, reason: string): Response {
  countPolicyDecision(context.record, { action: 'hook.parse', decision: 'deny', rule: 'hooks.input', reason, status: 200 }, { hook_event: event });
  return refusal(event, reason);
}

const HANDLERS: { [E in HookEvent]: (input: HookInput<E>, context: GatewayRequestContext) => Promise<Response> } = {
  async PreToolUse(input, context) {
    const verdict = await decideHookToolCall(context.caller.principal, input.tool_name, input.tool_input);
    // Committed before the answer: a call Claude Code runs on our word always has its evidence.
    await recordToolDecision(context.record, input, verdict, context.snapshot.config.audit.content_retention_days);
    return preToolUseAnswer(PERMISSION[verdict.decision], reasonOf(verdict));
  },
  async PostToolUse(input, context) {
    await recordToolResult(context.record, input);
    return acknowledged();
  },
  async PostToolUseFailure(input, context) {
    await recordToolResult(context.record, input);
    return acknowledged();
  },
  async UserPromptSubmit(input, context) {
    countSessionActivity(context.record, input);
    return acknowledged();
  },
  async SessionStart(input, context) {
    countSessionActivity(context.record, input);
    return acknowledged();
  },
};

function handlerFor<E extends HookEvent>(event: E): WebGatewayHandler {
  return async (request, context) => {
    const parsed = await parse(event, request);
    if (!parsed.ok) return unreadable(event, context, parsed.reason);
    return HANDLERS[event](parsed.input, context);
  };
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message;
  } catch {
    // Not the gateway's JSON error envelope: the status says enough.
  }
  return `HTTP ${response.status}`;
}

/**
 * The wrapper's refusals (401 token, 403 permission or spoofed identity, 400 headers, 405, 413)
 * in the hook's shape, already audited by the wrapper. A 5xx stays a 5xx: Gatehouse could not
 * decide, so the hook entry's onFailure (the rule's fail mode) decides on the device.
 */
async function inHookShape(event: HookEvent, response: Response): Promise<Response> {
  if (response.status < 400 || response.status >= 500) return response;
  const answer = refusal(event, await errorMessage(response));
  const headers = new Headers(response.headers);
  headers.set('content-type', 'application/json');
  headers.delete('content-length');
  return new Response(answer.body, { status: 200, headers });
}

function hookEndpoint(event: HookEvent): (request: Request) => Promise<Response> {
  const endpoint = withGatewayCallerOnWeb({ methods: ['POST'], permission: 'inference.invoke' }, handlerFor(event));
  return async (request) => inHookShape(event, await endpoint(request));
}

const ENDPOINTS = new Map<string, (request: Request) => Promise<Response>>(HOOK_EVENTS.map((event) => [HOOK_PATHS[event], hookEndpoint(event)]));

/** Paths the data plane sends here. */
export const GOVERNANCE_HOOK_PATHS: readonly string[] = HOOK_EVENTS.map((event) => HOOK_PATHS[event]);

export function handleGovernanceHook(request: Request): Promise<Response> {
  const endpoint = ENDPOINTS.get(new URL(request.url).pathname);
  if (!endpoint) return Promise.resolve(Response.json({ systemMessage: 'Gatehouse has no such hook endpoint' }, { status: 404 }));
  return endpoint(request);
}
