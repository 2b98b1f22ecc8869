// What Gatehouse answers a hook, as the one definition both sides read: the endpoints build their
// answers in these shapes (output.ts), and gatehouse-helper's `hook` accepts nothing else. The
// helper prints what it rebuilt from an accepted answer, never the text it received: a server
// that is not Gatehouse's endpoint, or a tampered answer, cannot hand Claude Code another field
// (updatedInput rewriting the tool call, additionalContext for Claude, continue: false). zod/mini:
// the helper runs on every tool call, and full zod would make its one file twenty times larger.
import * as z from 'zod/mini';
import { MAX_HOOK_MESSAGE_CHARS, type HookEvent } from './paths';

export const PERMISSION_DECISIONS = ['allow', 'ask', 'deny'] as const;
export type PermissionDecision = (typeof PERMISSION_DECISIONS)[number];

const message = z.string().check(z.maxLength(MAX_HOOK_MESSAGE_CHARS));

/** PreToolUse: the decision and its reason, nothing else. */
const preToolUseAnswer = z.strictObject({
  hookSpecificOutput: z.strictObject({ hookEventName: z.literal('PreToolUse'), permissionDecision: z.enum(PERMISSION_DECISIONS), permissionDecisionReason: message }),
});

/** Every other event: recorded (`{}`), or refused with a message for the person. */
const trackingAnswer = z.strictObject({ systemMessage: z.optional(message) });

export type PreToolUseAnswer = z.output<typeof preToolUseAnswer>;
export type TrackingAnswer = z.output<typeof trackingAnswer>;
export type HookAnswer = PreToolUseAnswer | TrackingAnswer;

/** Gatehouse's answer to `event` rebuilt from its allowed fields, or null when `body` is not one. */
export function readHookAnswer(event: HookEvent, body: string): HookAnswer | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  if (event === 'PreToolUse') {
    const parsed = preToolUseAnswer.safeParse(json);
    if (!parsed.success) return null;
    const { permissionDecision, permissionDecisionReason } = parsed.data.hookSpecificOutput;
    return { hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision, permissionDecisionReason } };
  }
  const parsed = trackingAnswer.safeParse(json);
  if (!parsed.success) return null;
  return parsed.data.systemMessage === undefined ? {} : { systemMessage: parsed.data.systemMessage };
}

/** A reason or message clipped to what a hook answer may carry. */
export function clipMessage(text: string): string {
  return text.length <= MAX_HOOK_MESSAGE_CHARS ? text : `${text.slice(0, MAX_HOOK_MESSAGE_CHARS - 1)}…`;
}
