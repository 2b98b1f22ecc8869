// What Gatehouse answers a hook, in Claude Code's hook output shape (always HTTP 200 with JSON: a
// non-2xx answer is a failed hook, which Claude Code treats by the entry's onFailure). The shapes
// are answer.ts's, which gatehouse-helper also holds answers to.
import { clipMessage, type PermissionDecision, type PreToolUseAnswer, type TrackingAnswer } from './answer';
import type { HookEvent } from './paths';

export type { PermissionDecision } from './answer';

/** PreToolUse: `deny` reasons are shown to Claude (and in the transcript), `ask` reasons in the prompt. */
export function preToolUseAnswer(permissionDecision: PermissionDecision, reason: string): Response {
  const body: PreToolUseAnswer = { hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision, permissionDecisionReason: clipMessage(reason) } };
  return Response.json(body);
}

/** A tracking event recorded: nothing for Claude Code to do. */
export function acknowledged(): Response {
  const body: TrackingAnswer = {};
  return Response.json(body);
}

/**
 * Gatehouse refused the hook call itself (no or a bad token, a missing permission, a body it
 * cannot read): a tool call is denied with the reason — a security check fails closed — and the
 * other events go on with the reason shown to the person.
 */
export function refusal(event: HookEvent, reason: string): Response {
  const message = `Gatehouse refused this ${event} hook: ${reason}`;
  if (event === 'PreToolUse') return preToolUseAnswer('deny', message);
  const body: TrackingAnswer = { systemMessage: clipMessage(message) };
  return Response.json(body);
}
