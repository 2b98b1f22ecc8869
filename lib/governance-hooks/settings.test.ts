// The generated hook settings: each tool name reaches exactly one PreToolUse entry, and the entry
// carries the fail mode its rules ask for. Matchers are tested the way Claude Code 2.1.332 tests
// them (a JavaScript regular expression, unanchored), which claude-code.test.ts checks for real.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAIL_MODE, type ToolPolicyRule } from '@/lib/tool-policy';
import { HELPER_HOOK_TIMEOUT_SECONDS, HELPER_RENEWAL_SECONDS, helperHookTimeoutSeconds, HOOK_PATHS } from './paths';
import { governanceHookSettings, preToolUseEntries } from './settings';
import { policyTarget } from './tool-names';

const ORIGIN = 'https://gatehouse.example.com';

function rule(server: string, tool: string, failMode: ToolPolicyRule['failMode'], enabled = true): ToolPolicyRule {
  return { id: `${server}/${tool}/${failMode}`, server, tool, principalKind: 'everyone', principal: '', conditions: {}, decision: 'block', failMode, description: '', enabled };
}

interface Entry {
  matcher: string;
  hooks: { url?: string; command?: string; timeout: number; onFailure?: string }[];
}

/** Which fail mode Claude Code applies to this tool: the one entry whose matcher it hits. */
function modeFor(rules: ToolPolicyRule[], toolName: string): string {
  const entries = preToolUseEntries(rules, (failMode) => ({ failMode })) as unknown as { matcher: string; hooks: { failMode: string }[] }[];
  const hits = entries.filter((entry) => entry.matcher === '*' || new RegExp(entry.matcher).test(toolName));
  expect(hits, toolName).toHaveLength(1);
  return hits[0]!.hooks[0]!.failMode;
}

describe('PreToolUse entries by fail mode', () => {
  const cases: { rules: ToolPolicyRule[]; tool: string; mode: 'open' | 'closed' }[] = [
    { rules: [], tool: 'Bash', mode: DEFAULT_FAIL_MODE },
    { rules: [rule('claude', 'Bash', 'open')], tool: 'Bash', mode: 'open' },
    { rules: [rule('claude', 'Bash', 'open')], tool: 'BashOutput', mode: 'closed' },
    { rules: [rule('claude', 'Bash', 'open')], tool: 'Edit', mode: 'closed' },
    { rules: [rule('claude', 'Bash', 'open'), rule('claude', 'Bash', 'closed')], tool: 'Bash', mode: 'closed' },
    { rules: [rule('claude', 'Bash', 'open', false)], tool: 'Bash', mode: 'closed' },
    { rules: [rule('claude', 'Web*', 'open')], tool: 'WebFetch', mode: 'open' },
    { rules: [rule('claude', 'Web*', 'open')], tool: 'mcp__web__fetch', mode: 'closed' },
    { rules: [rule('github', 'delete_*', 'open')], tool: 'mcp__github__delete_repo', mode: 'open' },
    { rules: [rule('github', 'delete_*', 'open')], tool: 'mcp__github__create_issue', mode: 'closed' },
    { rules: [rule('github', 'delete_*', 'open')], tool: 'delete_repo', mode: 'closed' },
    { rules: [rule('*', 'read?', 'open')], tool: 'mcp__files__reads', mode: 'open' },
    { rules: [rule('*', 'read?', 'open')], tool: 'reads', mode: 'open' },
    { rules: [rule('*', '*', 'open'), rule('claude', 'Bash', 'closed')], tool: 'Bash', mode: 'closed' },
    { rules: [rule('*', '*', 'open'), rule('claude', 'Bash', 'closed')], tool: 'Read', mode: 'open' },
    { rules: [rule('my-srv', 'a.b', 'open')], tool: 'mcp__my-srv__aXb', mode: 'closed' },
    // A local MCP server named like the built-in tools' server is not covered by their rules.
    { rules: [rule('claude', 'Bash', 'open')], tool: 'mcp__claude__Bash', mode: 'closed' },
    { rules: [rule('claude', '*', 'open')], tool: 'mcp__claude__x', mode: 'closed' },
    { rules: [rule('claude', '*', 'open')], tool: 'mcp__github__x', mode: 'closed' },
    { rules: [rule('claude', '*', 'open')], tool: 'Read', mode: 'open' },
    { rules: [rule('*', 'x', 'open')], tool: 'mcp__claude__x', mode: 'open' },
  ];
  it.each(cases)('$tool under $rules.length rule(s) → $mode', ({ rules, tool, mode }) => {
    expect(modeFor(rules, tool)).toBe(mode);
  });
});

describe('governanceHookSettings', () => {
  it('HTTP: posts every event to its own Gatehouse path with the token variable, and pins the hooks', () => {
    const settings = governanceHookSettings(ORIGIN, [], { transport: { kind: 'http' } });
    expect(settings).toMatchObject({ allowManagedHooksOnly: true, allowedHttpHookUrls: [`${ORIGIN}/hooks/claude-code/*`], httpHookAllowedEnvVars: ['GATEHOUSE_TOKEN'] });
    const hooks = settings.hooks as unknown as Record<string, Entry[]>;
    for (const event of ['PreToolUse', 'PostToolUse', 'PostToolUseFailure', 'UserPromptSubmit'] as const) {
      const hook = hooks[event]![0]!.hooks[0] as unknown as Record<string, unknown>;
      expect(hook).toMatchObject({ type: 'http', url: `${ORIGIN}${HOOK_PATHS[event]}`, headers: { Authorization: 'Bearer ${GATEHOUSE_TOKEN}' }, allowedEnvVars: ['GATEHOUSE_TOKEN'] });
      // Only the tool decision may stop anything when Gatehouse is away.
      if (event !== 'PreToolUse') expect(hook.onFailure).toBeUndefined();
    }
    expect(JSON.stringify(hooks.SessionStart)).toContain(`'${ORIGIN}${HOOK_PATHS.SessionStart}'`);
  });

  it('helper: runs gatehouse-helper hook for every event with the fail mode of its entry, and lets no HTTP hook run', () => {
    const helper = '/opt/gate house/gatehouse-helper';
    const settings = governanceHookSettings(ORIGIN, [rule('claude', 'Read', 'open')], { transport: { kind: 'helper', path: helper, shell: 'posix' }, timeoutSeconds: 7 });
    expect(settings).toMatchObject({ allowManagedHooksOnly: true, allowedHttpHookUrls: [], httpHookAllowedEnvVars: [] });
    expect(JSON.stringify(settings)).not.toContain('GATEHOUSE_TOKEN');
    const hooks = settings.hooks as unknown as Record<string, Entry[]>;
    const [open, closed] = hooks.PreToolUse!;
    // Claude Code waits past the helper's own deadline (its wait, then what a token may take).
    const timeout = 7 + HELPER_RENEWAL_SECONDS + 5;
    expect(helperHookTimeoutSeconds(7)).toBe(timeout);
    expect(open!.hooks[0]).toEqual({ type: 'command', command: `'${helper}' hook PreToolUse --server '${ORIGIN}' --timeout 7 --fail-mode open`, timeout });
    expect(closed!.hooks[0]).toEqual({ type: 'command', command: `'${helper}' hook PreToolUse --server '${ORIGIN}' --timeout 7 --fail-mode closed`, timeout, onFailure: 'block' });
    for (const event of ['PostToolUse', 'PostToolUseFailure', 'UserPromptSubmit', 'SessionStart'] as const) {
      expect(hooks[event]![0]!.hooks[0]).toEqual({ type: 'command', command: `'${helper}' hook ${event} --server '${ORIGIN}' --timeout 7`, timeout });
    }
    // Without a timeout of its own the helper waits less than an HTTP hook: it is what a person waits on.
    const defaults = governanceHookSettings(ORIGIN, [], { transport: { kind: 'helper', path: helper, shell: 'posix' } }).hooks as unknown as Record<string, Entry[]>;
    expect(defaults.PreToolUse![0]!.hooks[0]!.command).toContain(`--timeout ${HELPER_HOOK_TIMEOUT_SECONDS} `);
    // Within the 60 s Claude Code allows a command hook by default.
    expect(helperHookTimeoutSeconds(HELPER_HOOK_TIMEOUT_SECONDS)).toBeLessThan(60);
  });

  it('helper: the shell runs the command with the origin as one literal word, whatever the URL parser left in it', () => {
    // new URL() keeps $(…) in a host: the shell must not run it.
    const origin = new URL('https://a$(id)b.example').origin;
    expect(origin).toBe('https://a$(id)b.example');
    const settings = governanceHookSettings(origin, [], { transport: { kind: 'helper', path: '/bin/echo', shell: 'posix' } });
    const command = ((settings.hooks as unknown as Record<string, Entry[]>).PreToolUse![0]!.hooks[0]!.command)!;
    const printed = execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' });
    expect(printed).toContain(`--server ${origin} `);
    expect(printed).not.toContain('uid=');
  });

  it('helper on Windows: the path and the origin double-quoted, and a word no quoting protects refused', () => {
    const helper = 'C:\\Program Files\\Gatehouse\\gatehouse-helper.cmd';
    const settings = governanceHookSettings(ORIGIN, [], { transport: { kind: 'helper', path: helper, shell: 'windows' } });
    const command = (settings.hooks as unknown as Record<string, Entry[]>).SessionStart![0]!.hooks[0]!.command;
    expect(command).toBe(`"${helper}" hook SessionStart --server "${ORIGIN}" --timeout ${HELPER_HOOK_TIMEOUT_SECONDS}`);
    expect(() => governanceHookSettings('https://a$b.example', [], { transport: { kind: 'helper', path: helper, shell: 'windows' } })).toThrow(/Windows command line/);
  });
});

describe('policyTarget', () => {
  it('reads built-in and MCP tool names', () => {
    expect(policyTarget('Bash')).toEqual({ server: 'claude', tool: 'Bash' });
    expect(policyTarget('mcp__github__create_issue')).toEqual({ server: 'github', tool: 'create_issue' });
    expect(policyTarget('mcp__plugin_x__do__it')).toEqual({ server: 'plugin_x', tool: 'do__it' });
    // A local server called `claude` is not the built-in tools: rules for `claude` do not reach it.
    expect(policyTarget('mcp__claude__Bash')).toEqual({ server: 'mcp__claude', tool: 'Bash' });
  });
});
