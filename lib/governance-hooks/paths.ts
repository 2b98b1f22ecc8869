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
