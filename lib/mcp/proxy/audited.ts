/**
 * The order of a proxied request's evidence (evidence.ts), whichever way it goes (a client's
 * tools/call, resources/read, prompts/get; an upstream's sampling or elicitation): the decision
 * committed first (a request whose decision cannot be recorded is not sent), then the request,
 * then its end recorded as a background task, whose failure is logged and changes nothing the
 * caller got. A blocked request is recorded as denied and refused.
 */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { runInBackground } from '@/lib/platform/background';
import { proxiedCall, recordProxiedDecision, recordProxiedOutcome, type CallOutcome, type ProxiedCall, type ProxiedCallInput } from './evidence';
import type { ToolVerdict } from './policy';
import { ANSWER_TOO_LARGE } from './upstream';

/** JSON-RPC error code of a request the tool policy blocked (in the implementation-defined server range). */
export const POLICY_BLOCKED = -32003;

/** `original` as it was thrown (its kind), `shown` as the caller sees it. */
function failure(original: unknown, shown: McpError, signal: AbortSignal): { type: string; message: string } {
  const { message } = shown;
  // The SDK turns a cancelled request into an McpError like a timeout's: the signal tells them apart.
  if (signal.aborted) return { type: 'cancelled', message: `cancelled: ${String(signal.reason ?? '')}`.slice(0, 500) };
  if (shown.code === ANSWER_TOO_LARGE) return { type: 'response_too_large', message };
  if (original instanceof McpError) return { type: `mcp_error_${Math.abs(original.code)}`, message };
  return { type: original instanceof Error ? original.name : 'error', message };
}

async function durableDecision(call: ProxiedCall): Promise<void> {
  try {
    await recordProxiedDecision(call);
  } catch (error) {
    console.error(`mcp proxy: recording ${call.method} ${call.callId} failed, refusing it: ${error instanceof Error ? error.message : String(error)}`);
    throw new McpError(ErrorCode.InternalError, 'Gatehouse could not record this request in its audit trail, so it was not sent; try again shortly');
  }
}

function recordOutcomeLater(call: ProxiedCall, outcome: CallOutcome): void {
  runInBackground(`mcp proxy: recording how ${call.method} ${call.callId} ended`, () => recordProxiedOutcome(call, outcome));
}

/**
 * Runs one audited request. `shown` turns what `run` threw into what the caller gets (the
 * upstream's errors redacted); `describe` adds what the end event says of a result beside its size.
 */
export async function auditedRequest<T>(
  input: ProxiedCallInput,
  signal: AbortSignal,
  run: () => Promise<T>,
  shown: (error: unknown) => McpError,
  describe: (result: T) => Partial<CallOutcome> = () => ({}),
): Promise<T> {
  const call = proxiedCall(input);
  await durableDecision(call);
  const started = performance.now();
  let result: T;
  try {
    result = await run();
  } catch (error) {
    const error_ = shown(error);
    recordOutcomeLater(call, { outcome: 'failure', durationMs: performance.now() - started, error: failure(error, error_, signal) });
    throw error_;
  }
  recordOutcomeLater(call, { outcome: 'success', durationMs: performance.now() - started, resultBytes: Buffer.byteLength(JSON.stringify(result) ?? ''), ...describe(result) });
  return result;
}

/** A request the policy blocked: recorded (denied, with `error`), then refused with `shown` (`error` unless the asker may not read the rule). */
export async function refusedRequest(input: ProxiedCallInput, error: McpError, shown: McpError = error): Promise<never> {
  const call = proxiedCall(input);
  await recordProxiedDecision(call, { type: 'policy_blocked', message: error.message }).catch((recording: Error) => console.error(`mcp proxy: recording the refusal ${call.callId} failed: ${recording.message}`));
  throw shown;
}

/** The JSON-RPC error of a blocked request: names the rule (its id and description) and why. */
export function blockedError(verdict: ToolVerdict): McpError {
  const rule = verdict.rule ? `tool policy rule ${verdict.rule.id}${verdict.rule.description ? ` ("${verdict.rule.description}")` : ''}` : verdict.ruleName;
  return new McpError(POLICY_BLOCKED, `blocked by ${rule}: ${verdict.reason}`, { decision: 'block', rule: verdict.rule ?? { id: verdict.ruleName, description: '' } });
}
