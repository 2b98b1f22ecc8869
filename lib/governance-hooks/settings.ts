// The governance hooks as Claude Code settings: what managed-settings.json (lib/mdm) carries so
// every tool call on the device asks Gatehouse first, and the keys that pin them there.
import { DEFAULT_FAIL_MODE, type FailMode, type ToolPolicyRule } from '@/lib/tool-policy';
import { anchoredMatcher, complementMatcher, ruleToolPattern } from './tool-names';

/** The environment variable holding the person's Gatehouse access token on the device. */
export const HOOK_TOKEN_ENV = 'GATEHOUSE_TOKEN';

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

/**
 * Seconds Claude Code waits for an answer. Generous: a loaded Gatehouse must not turn into a
 * failed hook (which, for a fail-closed tool, refuses the call). An unreachable Gatehouse fails at
 * once (connection refused) whatever this says.
 */
export const HOOK_TIMEOUT_SECONDS = 30;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function httpHook(origin: string, event: HookEvent, failMode: FailMode | null, timeoutSeconds: number): JsonObject {
  const hook: JsonObject = {
    type: 'http',
    url: `${origin}${HOOK_PATHS[event]}`,
    timeout: timeoutSeconds,
    headers: { Authorization: `Bearer \${${HOOK_TOKEN_ENV}}` },
    allowedEnvVars: [HOOK_TOKEN_ENV],
  };
  // onFailure "block" (Claude Code ≥ 2.1.295): a hook that cannot be sent, times out or gets a
  // non-2xx answer refuses the call. Without it (the default, "continue") the call goes ahead
  // under the client's own permission rules.
  if (failMode === 'closed') hook.onFailure = 'block';
  return hook;
}

/**
 * PreToolUse entries, split by what happens when Gatehouse cannot be reached. A tool that some
 * enabled rule marks with the other fail mode than the default goes to that mode's entry, unless
 * another rule marks it closed too: a tool two rules disagree on fails closed. The two matchers
 * are complements, so every tool call is sent exactly once.
 */
export function preToolUseEntries(origin: string, rules: readonly ToolPolicyRule[], timeoutSeconds = HOOK_TIMEOUT_SECONDS): JsonObject[] {
  const patterns = (mode: FailMode) => rules.filter((rule) => rule.enabled && rule.failMode === mode).map((rule) => ruleToolPattern(rule.server, rule.tool));
  const open = patterns('open');
  const closed = patterns('closed');
  const exceptions = DEFAULT_FAIL_MODE === 'closed' ? open : closed;
  if (exceptions.length === 0) return [{ matcher: '*', hooks: [httpHook(origin, 'PreToolUse', DEFAULT_FAIL_MODE, timeoutSeconds)] }];
  // Names the non-default mode keeps: covered by a rule of that mode and, when it is open, by no closed rule.
  const kept = DEFAULT_FAIL_MODE === 'closed' && closed.length ? `(?!(?:${closed.join('|')})$)(?:${open.join('|')})` : exceptions.join('|');
  const otherMode: FailMode = DEFAULT_FAIL_MODE === 'closed' ? 'open' : 'closed';
  return [
    { matcher: anchoredMatcher([kept]), hooks: [httpHook(origin, 'PreToolUse', otherMode, timeoutSeconds)] },
    { matcher: complementMatcher([kept]), hooks: [httpHook(origin, 'PreToolUse', DEFAULT_FAIL_MODE, timeoutSeconds)] },
  ];
}

function posixSingleQuoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Claude Code sends no HTTP hooks for SessionStart (2.1.332 skips them: "HTTP hooks are not
 * supported for SessionStart"), so session starts are posted by curl with the same token.
 */
function sessionStartHook(origin: string, timeoutSeconds: number): JsonObject {
  const url = posixSingleQuoted(`${origin}${HOOK_PATHS.SessionStart}`);
  return {
    type: 'command',
    command: `curl -sS -m ${timeoutSeconds} -X POST -H "Authorization: Bearer \${${HOOK_TOKEN_ENV}}" -H 'Content-Type: application/json' --data-binary @- ${url}`,
    timeout: timeoutSeconds + 5,
  };
}

/**
 * The `hooks` block and the keys that pin it: only managed hooks run (a person's own settings
 * cannot add one that answers "allow" first, nor can a project's), HTTP hooks may only reach
 * Gatehouse's hook endpoints, and only the token variable may be read into their headers.
 */
export function governanceHookSettings(origin: string, rules: readonly ToolPolicyRule[], timeoutSeconds = HOOK_TIMEOUT_SECONDS): JsonObject {
  const tracking = (event: HookEvent): JsonObject[] => [{ matcher: '*', hooks: [httpHook(origin, event, null, timeoutSeconds)] }];
  return {
    hooks: {
      PreToolUse: preToolUseEntries(origin, rules, timeoutSeconds),
      PostToolUse: tracking('PostToolUse'),
      PostToolUseFailure: tracking('PostToolUseFailure'),
      UserPromptSubmit: [{ hooks: [httpHook(origin, 'UserPromptSubmit', null, timeoutSeconds)] }],
      SessionStart: [{ hooks: [sessionStartHook(origin, timeoutSeconds)] }],
    },
    allowManagedHooksOnly: true,
    allowedHttpHookUrls: [`${origin}${HOOKS_ROOT}/*`],
    httpHookAllowedEnvVars: [HOOK_TOKEN_ENV],
  };
}
