// The governance hooks as Claude Code settings: what managed-settings.json (lib/mdm) carries so
// every tool call on the device asks Gatehouse first, and the keys that pin them there. Two ways
// to reach Gatehouse with the person's token: command hooks running `gatehouse-helper hook` (the
// helper's own sign-in, renewed as it goes), or HTTP hooks reading the token from an environment
// variable the device must set.
import { posixNodeCommand, posixQuote, quoteFor, type Shell } from '@/lib/platform/shell';
import { DEFAULT_FAIL_MODE, type FailMode, type ToolPolicyRule } from '@/lib/tool-policy';
import { HELPER_HOOK_TIMEOUT_SECONDS, helperHookTimeoutSeconds, HOOK_PATHS, HOOKS_ROOT, type HookEvent } from './paths';
import { anchoredMatcher, complementMatcher, ruleToolPattern } from './tool-names';

/** The environment variable holding the person's Gatehouse access token on the device. */
export const HOOK_TOKEN_ENV = 'GATEHOUSE_TOKEN';

/**
 * Seconds an HTTP hook waits for Gatehouse's answer. Generous: a loaded Gatehouse must not turn
 * into a failed hook (which, for a fail-closed tool, refuses the call). An unreachable Gatehouse
 * fails at once (connection refused) whatever this says.
 */
export const HOOK_TIMEOUT_SECONDS = 30;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * How the hooks reach Gatehouse. `helper`: command hooks running the credential helper installed
 * at `path`, quoted for the shell Claude Code runs them with there, which sends its own sign-in's
 * token. With `node` (POSIX), the helper's file is run by that Node with NODE_OPTIONS and the like
 * unset (posixNodeCommand): its shebang's `env node` would let the governed person's own `node` on
 * PATH, or a NODE_OPTIONS=--require, answer "allow". Windows runs the .cmd launcher, which does the
 * same. `http`: HTTP hooks with the token from HOOK_TOKEN_ENV, which something on the device must set.
 */
export type HookTransport = { kind: 'helper'; path: string; shell: Shell; node?: string } | { kind: 'http' };

/** The command line starting the helper for `transport`, before its arguments. */
export function helperInvocation(transport: { path: string; shell: Shell; node?: string }): string {
  if (transport.node !== undefined && transport.shell === 'posix') return posixNodeCommand(transport.node, transport.path);
  return quoteFor(transport.shell, transport.path);
}

export interface HookSettingsOptions {
  transport: HookTransport;
  /** Seconds to wait for Gatehouse's answer. */
  timeoutSeconds?: number;
}

/** `failMode`: what Claude Code does when the hook fails (null: the default, go on). */
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
 * `gatehouse-helper hook <event>`: the helper reads the hook input on stdin, posts it to Gatehouse
 * with its token and prints the answer; when Gatehouse cannot answer, it applies `--fail-mode`
 * itself. onFailure covers what the helper cannot: not starting, or Claude Code's own timeout.
 */
function helperHook(transport: { path: string; shell: Shell; node?: string }, origin: string, event: HookEvent, failMode: FailMode | null, timeoutSeconds: number): JsonObject {
  // The event, numbers and fail modes are plain words; the path and the origin are quoted.
  const args = ['hook', event, '--server', quoteFor(transport.shell, origin), '--timeout', String(timeoutSeconds), ...(failMode ? ['--fail-mode', failMode] : [])];
  const hook: JsonObject = { type: 'command', command: `${helperInvocation(transport)} ${args.join(' ')}`, timeout: helperHookTimeoutSeconds(timeoutSeconds) };
  if (failMode === 'closed') hook.onFailure = 'block';
  return hook;
}

type HookFactory = (event: HookEvent, failMode: FailMode | null) => JsonObject;

function hookFactory(origin: string, options: HookSettingsOptions): HookFactory {
  const { transport } = options;
  const timeoutSeconds = options.timeoutSeconds ?? (transport.kind === 'helper' ? HELPER_HOOK_TIMEOUT_SECONDS : HOOK_TIMEOUT_SECONDS);
  if (transport.kind === 'helper') return (event, failMode) => helperHook(transport, origin, event, failMode, timeoutSeconds);
  return (event, failMode) => (event === 'SessionStart' ? curlSessionStartHook(origin, timeoutSeconds) : httpHook(origin, event, failMode, timeoutSeconds));
}

/**
 * PreToolUse entries, split by what happens when Gatehouse cannot be reached. A tool that some
 * enabled rule marks with the other fail mode than the default goes to that mode's entry, unless
 * another rule marks it closed too: a tool two rules disagree on fails closed. The two matchers
 * are complements, so every tool call is sent exactly once.
 */
export function preToolUseEntries(rules: readonly ToolPolicyRule[], hook: (failMode: FailMode) => JsonObject): JsonObject[] {
  const patterns = (mode: FailMode) => rules.filter((rule) => rule.enabled && rule.failMode === mode).map((rule) => ruleToolPattern(rule.server, rule.tool));
  const open = patterns('open');
  const closed = patterns('closed');
  const exceptions = DEFAULT_FAIL_MODE === 'closed' ? open : closed;
  if (exceptions.length === 0) return [{ matcher: '*', hooks: [hook(DEFAULT_FAIL_MODE)] }];
  // Names the non-default mode keeps: covered by a rule of that mode and, when it is open, by no closed rule.
  const kept = DEFAULT_FAIL_MODE === 'closed' && closed.length ? `(?!(?:${closed.join('|')})$)(?:${open.join('|')})` : exceptions.join('|');
  const otherMode: FailMode = DEFAULT_FAIL_MODE === 'closed' ? 'open' : 'closed';
  return [
    { matcher: anchoredMatcher([kept]), hooks: [hook(otherMode)] },
    { matcher: complementMatcher([kept]), hooks: [hook(DEFAULT_FAIL_MODE)] },
  ];
}

/**
 * Claude Code sends no HTTP hooks for SessionStart (2.1.332 skips them: "HTTP hooks are not
 * supported for SessionStart"), so with HTTP hooks session starts are posted by curl with the
 * same token.
 */
function curlSessionStartHook(origin: string, timeoutSeconds: number): JsonObject {
  const url = posixQuote(`${origin}${HOOK_PATHS.SessionStart}`);
  return {
    type: 'command',
    command: `curl -sS -m ${timeoutSeconds} -X POST -H "Authorization: Bearer \${${HOOK_TOKEN_ENV}}" -H 'Content-Type: application/json' --data-binary @- ${url}`,
    timeout: timeoutSeconds + 5,
  };
}

/**
 * The `hooks` block and the keys that pin it: only managed hooks run (a person's own settings
 * cannot add one that answers "allow" first, nor can a project's). HTTP hooks may only reach
 * Gatehouse's hook endpoints and read only the token variable; with the helper there are none
 * of ours, so none may run at all and none may read the environment.
 */
export function governanceHookSettings(origin: string, rules: readonly ToolPolicyRule[], options: HookSettingsOptions): JsonObject {
  const hook = hookFactory(origin, options);
  const tracking = (event: HookEvent): JsonObject[] => [{ matcher: '*', hooks: [hook(event, null)] }];
  const http = options.transport.kind === 'http';
  return {
    hooks: {
      PreToolUse: preToolUseEntries(rules, (failMode) => hook('PreToolUse', failMode)),
      PostToolUse: tracking('PostToolUse'),
      PostToolUseFailure: tracking('PostToolUseFailure'),
      UserPromptSubmit: [{ hooks: [hook('UserPromptSubmit', null)] }],
      SessionStart: [{ hooks: [hook('SessionStart', null)] }],
    },
    allowManagedHooksOnly: true,
    allowedHttpHookUrls: http ? [`${origin}${HOOKS_ROOT}/*`] : [],
    httpHookAllowedEnvVars: http ? [HOOK_TOKEN_ENV] : [],
  };
}
