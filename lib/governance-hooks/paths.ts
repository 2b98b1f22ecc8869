// The governance hooks' events and Gatehouse paths: plain data, shared by the server (routes,
// settings) and gatehouse-helper's `hook` command, which is bundled for laptops without the rest.

/** Claude Code's hook events Gatehouse answers, each at a path of its own under /hooks/claude-code. */
export const HOOK_EVENTS = ['PreToolUse', 'PostToolUse', 'PostToolUseFailure', 'UserPromptSubmit', 'SessionStart'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export const HOOKS_ROOT = '/hooks/claude-code';

export const HOOK_PATHS: Record<HookEvent, string> = {
  PreToolUse: `${HOOKS_ROOT}/pre-tool-use`,
  PostToolUse: `${HOOKS_ROOT}/post-tool-use`,
  PostToolUseFailure: `${HOOKS_ROOT}/post-tool-use-failure`,
  UserPromptSubmit: `${HOOKS_ROOT}/user-prompt-submit`,
  SessionStart: `${HOOKS_ROOT}/session-start`,
};

/** The call source of every hook call: rules conditioned on `hook` apply to these calls. */
export const HOOK_CALL_SOURCE = 'hook';

/**
 * Seconds gatehouse-helper's `hook` waits for Gatehouse's answer before applying the fail mode:
 * shorter than an HTTP hook's wait, as the helper is what a person waits on when Gatehouse's
 * address swallows packets instead of refusing them; a healthy Gatehouse answers in milliseconds.
 */
export const HELPER_HOOK_TIMEOUT_SECONDS = 10;

/**
 * Beyond `--timeout`, what the helper may spend getting a token: a brief wait for another helper's
 * lock, then renewing an expired access token (the metadata, the refresh, the policy version).
 * Its whole run ends within `--timeout` plus this, in Gatehouse's answer or the fail mode.
 */
export const HELPER_RENEWAL_SECONDS = 30;

/** Between the helper's own deadline and Claude Code's: Node starting, the answer written, the exit. */
const HELPER_GRACE_SECONDS = 5;

/** Seconds Claude Code allows a helper hook (its `timeout`): past the helper's own deadline, never before it. */
export function helperHookTimeoutSeconds(timeoutSeconds: number): number {
  return timeoutSeconds + HELPER_RENEWAL_SECONDS + HELPER_GRACE_SECONDS;
}

/** The helper's size limit on Gatehouse's hook answer (its refusals' reasons fit many times). */
export const MAX_HOOK_ANSWER_BYTES = 64 * 1024;

/** The longest reason or message a hook answer may carry; Gatehouse clips its own to this. */
export const MAX_HOOK_MESSAGE_CHARS = 2000;
