// The governance hook endpoints over HTTP on loopback, served by the data-plane table as in
// production: decisions per department from the same tool policy rules as the MCP proxy, the hook
// output shape for every answer and refusal, and the audit trail each call leaves.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushCountedEvents } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { eventsOf, newTestTraceId, startGateway, storedContent, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { invalidateToolPolicyCache } from '@/lib/tool-policy';
import { claudeCodeManagedSettings } from '@/lib/mdm/claude-code';
import { rolloutContext } from '@/lib/mdm/context';
import { validateRolloutSettings } from '@/lib/mdm/settings';
import { HOOK_PATHS, type HookEvent } from './paths';

let gateway: GatewayHarness;
let marketing: UserIdentity;
let engineering: UserIdentity;
const suffix = randomBytes(3).toString('hex');
let blockRuleId: string;
let askRuleId: string;

async function departmentId(user: UserIdentity): Promise<string> {
  const row = await db().department.findUniqueOrThrow({ where: { tenantId_slug: { tenantId: user.tenantId, slug: user.department! } }, select: { id: true } });
  return row.id;
}

function sessionId(): string {
  return `session-${randomBytes(6).toString('hex')}`;
}

async function post(event: HookEvent, body: unknown, options: { token?: string | null; traceId?: string; raw?: string } = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.traceId) headers['x-trace-id'] = options.traceId;
  const response = await fetch(`${gateway.url}${HOOK_PATHS[event]}`, { method: 'POST', headers, body: options.raw ?? JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

function preToolUse(session: string, toolName: string, toolInput: Record<string, unknown>) {
  return { session_id: session, cwd: '/work', permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: toolName, tool_input: toolInput, tool_use_id: `toolu_${randomBytes(4).toString('hex')}` };
}

beforeAll(async () => {
  gateway = await startGateway('gateway: {}\n', 'hooks');
  marketing = await createTestUser(['member'], `marketing-${suffix}`);
  engineering = await createTestUser(['member'], `engineering-${suffix}`);
  const block = await db().toolPolicyRule.create({
    data: { tenantId: marketing.tenantId, server: 'claude', tool: 'Bash', principalKind: 'department', principal: await departmentId(marketing), decision: 'block', failMode: 'closed', description: `no shell for marketing ${suffix}` },
  });
  blockRuleId = block.id;
  const ask = await db().toolPolicyRule.create({
    data: { tenantId: engineering.tenantId, server: `github-${suffix}`, tool: 'delete_*', principalKind: 'department', principal: await departmentId(engineering), decision: 'ask', failMode: 'open' },
  });
  askRuleId = ask.id;
  // Written straight to the table: the rule cache must not keep the tenant's earlier rules.
  invalidateToolPolicyCache();
}, 120_000);

afterAll(async () => {
  await db().toolPolicyRule.deleteMany({ where: { id: { in: [blockRuleId, askRuleId].filter(Boolean) } } });
  await gateway?.close();
});

describe('PreToolUse', () => {
  it('denies Bash for one department naming the rule, allows it for another, and audits both with their arguments', async () => {
    const session = sessionId();
    const deniedTrace = newTestTraceId();
    const denied = await post('PreToolUse', preToolUse(session, 'Bash', { command: 'ls -la', description: 'list' }), { token: await tokenFor(gateway, marketing), traceId: deniedTrace });
    expect(denied.status).toBe(200);
    const deniedOutput = denied.json.hookSpecificOutput as Record<string, string>;
    expect(deniedOutput.hookEventName).toBe('PreToolUse');
    expect(deniedOutput.permissionDecision).toBe('deny');
    expect(deniedOutput.permissionDecisionReason).toContain(blockRuleId);
    expect(deniedOutput.permissionDecisionReason).toContain(`no shell for marketing ${suffix}`);
    expect(denied.headers.get('x-trace-id')).toBe(deniedTrace);

    const [deniedEvent] = await eventsOf(deniedTrace);
    expect(deniedEvent).toMatchObject({
      event_type: 'policy.decision',
      action: 'tool.authorize',
      outcome: 'denied',
      session_id: session,
      call_source: 'hook',
      actor: { user_id: marketing.userId, department: marketing.department },
      policy: { decision: 'block', rule: blockRuleId },
      mcp: { server: 'claude', method: 'tools/call', tool: 'Bash', session_id: session },
      gen_ai: { operation: 'execute_tool', tool_name: 'Bash' },
      attributes: { permission_decision: 'deny', fail_mode: 'closed' },
    });
    expect(deniedEvent!.content_refs?.[0]?.kind).toBe('tool_arguments');
    expect(JSON.parse((await storedContent(deniedEvent!.content_refs![0]!.sha256))!)).toEqual({ command: 'ls -la', description: 'list' });

    const allowedTrace = newTestTraceId();
    const allowed = await post('PreToolUse', preToolUse(sessionId(), 'Bash', { command: 'ls -la' }), { token: await tokenFor(gateway, engineering), traceId: allowedTrace });
    expect((allowed.json.hookSpecificOutput as Record<string, string>).permissionDecision).toBe('allow');
    const [allowedEvent] = await eventsOf(allowedTrace);
    expect(allowedEvent).toMatchObject({ event_type: 'policy.decision', outcome: 'success', policy: { decision: 'allow', rule: 'tool_policy.default' }, actor: { user_id: engineering.userId } });
  });

  it('judges an MCP tool by its server and tool name (mcp__server__tool) and answers ask', async () => {
    const trace = newTestTraceId();
    const asked = await post('PreToolUse', preToolUse(sessionId(), `mcp__github-${suffix}__delete_repo`, { repo: 'acme/site' }), { token: await tokenFor(gateway, engineering), traceId: trace });
    const output = asked.json.hookSpecificOutput as Record<string, string>;
    expect(output.permissionDecision).toBe('ask');
    expect(output.permissionDecisionReason).toContain(askRuleId);
    const [event] = await eventsOf(trace);
    expect(event).toMatchObject({ mcp: { server: `github-${suffix}`, tool: 'delete_repo' }, policy: { decision: 'ask', rule: askRuleId }, attributes: { fail_mode: 'open' } });
  });

  it('does not judge a local MCP server named claude by the built-in tools\' rules', async () => {
    const trace = newTestTraceId();
    // Marketing's rule blocks the built-in Bash; a tool of someone's own `claude` MCP server is another tool.
    const answer = await post('PreToolUse', preToolUse(sessionId(), 'mcp__claude__Bash', { command: 'ls' }), { token: await tokenFor(gateway, marketing), traceId: trace });
    expect((answer.json.hookSpecificOutput as Record<string, string>).permissionDecision).toBe('allow');
    const [event] = await eventsOf(trace);
    expect(event).toMatchObject({ mcp: { server: 'mcp__claude', tool: 'Bash' }, policy: { decision: 'allow', rule: 'tool_policy.default' }, gen_ai: { tool_name: 'mcp__claude__Bash' } });
  });

  it('never stores a credential found in the arguments', async () => {
    const trace = newTestTraceId();
    const secret = 'AKIAZ2X3Y4W5V6U7T8S9';
    await post('PreToolUse', preToolUse(sessionId(), 'Bash', { command: `AWS_ACCESS_KEY_ID=${secret} aws s3 ls` }), { token: await tokenFor(gateway, engineering), traceId: trace });
    const [event] = await eventsOf(trace);
    const stored = (await storedContent(event!.content_refs![0]!.sha256))!;
    expect(stored).not.toContain(secret);
    expect(stored).toContain('[REDACTED:');
    expect(event!.attributes?.secrets_redacted).toBeGreaterThan(0);
  });

  it('refuses a missing or invalid token in the hook shape (deny) and counts the refusal', async () => {
    const missingTrace = newTestTraceId();
    const missing = await post('PreToolUse', preToolUse(sessionId(), 'Bash', { command: 'ls' }), { traceId: missingTrace });
    expect(missing.status).toBe(200);
    const output = missing.json.hookSpecificOutput as Record<string, string>;
    expect(output.permissionDecision).toBe('deny');
    expect(output.permissionDecisionReason).toMatch(/^Gatehouse refused this PreToolUse hook: /);
    const forged = await post('UserPromptSubmit', { session_id: sessionId(), hook_event_name: 'UserPromptSubmit', prompt: 'hi' }, { token: 'not-a-token', traceId: newTestTraceId() });
    expect(forged.status).toBe(200);
    expect(forged.json.systemMessage).toMatch(/^Gatehouse refused this UserPromptSubmit hook: /);
    await flushCountedEvents({ all: true });
    const [counted] = await eventsOf(missingTrace);
    expect(counted).toMatchObject({ event_type: 'policy.decision', action: 'identity.authenticate', outcome: 'denied', policy: { rule: 'auth.access_token' } });
    expect(String(counted!.attributes?.endpoint)).toContain(HOOK_PATHS.PreToolUse);
  });

  it('denies a body it cannot read, in the hook shape', async () => {
    const token = await tokenFor(gateway, engineering);
    const garbage = await post('PreToolUse', null, { token, raw: 'not json' });
    expect((garbage.json.hookSpecificOutput as Record<string, string>).permissionDecision).toBe('deny');
    const wrongEvent = await post('PreToolUse', { session_id: 's', hook_event_name: 'PostToolUse', tool_name: 'Bash' }, { token });
    expect((wrongEvent.json.hookSpecificOutput as Record<string, string>).permissionDecisionReason).toContain('not a PreToolUse event');
  });
});

describe('tracking', () => {
  it('records how a tool call ended (size, not content) and counts prompts and session starts per session', async () => {
    const token = await tokenFor(gateway, engineering);
    const session = sessionId();
    const okTrace = newTestTraceId();
    const ok = await post('PostToolUse', { session_id: session, hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command: 'echo hi' }, tool_response: { stdout: 'hi', stderr: '' }, tool_use_id: 'toolu_1', duration_ms: 12 }, { token, traceId: okTrace });
    expect(ok.json).toEqual({});
    const [okEvent] = await eventsOf(okTrace);
    expect(okEvent).toMatchObject({ event_type: 'mcp.tool_call', action: 'tools.call', outcome: 'success', session_id: session, mcp: { server: 'claude', tool: 'Bash', is_error: false, duration_ms: 12 }, gen_ai: { tool_call_id: 'toolu_1' } });
    expect(okEvent!.attributes?.result_bytes).toBe(JSON.stringify({ stdout: 'hi', stderr: '' }).length);
    expect(JSON.stringify(okEvent)).not.toContain('"hi"');

    const failedTrace = newTestTraceId();
    await post('PostToolUseFailure', { session_id: session, hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', tool_input: { command: 'false' }, error: 'exit code 1' }, { token, traceId: failedTrace });
    const [failedEvent] = await eventsOf(failedTrace);
    expect(failedEvent).toMatchObject({ event_type: 'mcp.tool_call', outcome: 'failure', mcp: { is_error: true }, error: { type: 'tool_error', message: 'exit code 1' } });

    // A failed command's output is in its error, and audit events outlive content retention.
    const secret = 'AKIAZ2X3Y4W5V6U7T8S9';
    const leakTrace = newTestTraceId();
    await post('PostToolUseFailure', { session_id: session, hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', tool_input: { command: 'aws s3 ls' }, error: `Exit code 255\nInvalid access key ${secret}` }, { token, traceId: leakTrace });
    const [leakEvent] = await eventsOf(leakTrace);
    expect(leakEvent!.error?.message).toContain('Exit code 255');
    expect(leakEvent!.error?.message).toContain('[REDACTED:');
    expect(JSON.stringify(leakEvent)).not.toContain(secret);

    const promptTrace = newTestTraceId();
    for (let index = 0; index < 3; index += 1) {
      const answer = await post('UserPromptSubmit', { session_id: session, hook_event_name: 'UserPromptSubmit', prompt: 'hello' }, { token, traceId: promptTrace });
      expect(answer.json).toEqual({});
    }
    await post('SessionStart', { session_id: session, hook_event_name: 'SessionStart', source: 'startup', model: 'claude-x' }, { token, traceId: promptTrace });
    await flushCountedEvents({ all: true });
    const activity = await eventsOf(promptTrace);
    expect(activity.find((event) => event.action === 'claude_code.prompt_submit')).toMatchObject({ event_type: 'system.housekeeping', session_id: session, attributes: { count: 3, prompt_bytes: 15 } });
    expect(activity.find((event) => event.action === 'claude_code.session_start')).toMatchObject({ session_id: session, attributes: { source: 'startup', model: 'claude-x' } });
  });
});

describe('managed-settings.json from the Rollout page', () => {
  it('carries the governance hooks and their pins when they are on, shaped by the rules\' fail modes', async () => {
    const off = claudeCodeManagedSettings(await rolloutContext(engineering.tenantId, { settings: validateRolloutSettings({ gatewayUrl: 'https://gw.example.com' }) }));
    expect(off.hooks).toBeUndefined();
    expect(off.allowManagedHooksOnly).toBeUndefined();

    const on = claudeCodeManagedSettings(await rolloutContext(engineering.tenantId, { settings: validateRolloutSettings({ gatewayUrl: 'https://gw.example.com', claudeCodeGovernanceHooks: 'on' }) }));
    expect(on).toMatchObject({ allowManagedHooksOnly: true, allowedHttpHookUrls: ['https://gw.example.com/hooks/claude-code/*'], httpHookAllowedEnvVars: ['GATEHOUSE_TOKEN'] });
    const entries = (on.hooks as Record<string, { matcher: string; hooks: { url: string; onFailure?: string }[] }[]>).PreToolUse!;
    const entryOf = (tool: string) => entries.filter((entry) => entry.matcher === '*' || new RegExp(entry.matcher).test(tool));
    // This file's fail-open rule on github-<suffix>/delete_*; Bash has a fail-closed rule.
    expect(entryOf(`mcp__github-${suffix}__delete_repo`).map((entry) => entry.hooks[0]!.onFailure)).toEqual([undefined]);
    expect(entryOf('Bash').map((entry) => entry.hooks[0]!.onFailure)).toEqual(['block']);
    expect(entries.every((entry) => entry.hooks[0]!.url === `https://gw.example.com${HOOK_PATHS.PreToolUse}`)).toBe(true);
  });

  it('with helper sign-in, installs command hooks running the helper, with no token variable and no HTTP hook allowed', async () => {
    const settings = validateRolloutSettings({ gatewayUrl: 'https://gw.example.com', claudeCodeSignIn: 'helper', claudeCodeGovernanceHooks: 'on', helperPath: '/opt/gatehouse/bin/gatehouse-helper' });
    const on = claudeCodeManagedSettings(await rolloutContext(engineering.tenantId, { settings }));
    expect(on).toMatchObject({ allowManagedHooksOnly: true, allowedHttpHookUrls: [], httpHookAllowedEnvVars: [], apiKeyHelper: "/usr/bin/env -u NODE_OPTIONS -u NODE_TLS_REJECT_UNAUTHORIZED -u NODE_EXTRA_CA_CERTS -u NODE_PATH '/usr/local/bin/node' '/opt/gatehouse/bin/gatehouse-helper' --server 'https://gw.example.com'" });
    const hooks = on.hooks as Record<string, { matcher?: string; hooks: { type: string; command: string; onFailure?: string }[] }[]>;
    const entryOf = (tool: string) => hooks.PreToolUse!.filter((entry) => entry.matcher === '*' || new RegExp(entry.matcher!).test(tool));
    expect(entryOf('Bash').map((entry) => [entry.hooks[0]!.command, entry.hooks[0]!.onFailure])).toEqual([[expect.stringMatching(/^\/usr\/bin\/env -u NODE_OPTIONS -u NODE_TLS_REJECT_UNAUTHORIZED -u NODE_EXTRA_CA_CERTS -u NODE_PATH '\/usr\/local\/bin\/node' '\/opt\/gatehouse\/bin\/gatehouse-helper' hook PreToolUse --server 'https:\/\/gw\.example\.com' --timeout \d+ --fail-mode closed$/), 'block']]);
    expect(entryOf(`mcp__github-${suffix}__delete_repo`).map((entry) => entry.hooks[0]!.command)).toEqual([expect.stringMatching(/--fail-mode open$/)]);
    for (const event of ['PostToolUse', 'PostToolUseFailure', 'UserPromptSubmit', 'SessionStart']) expect(hooks[event]![0]!.hooks[0]).toMatchObject({ type: 'command', command: expect.stringContaining(` hook ${event} --server 'https://gw.example.com'`) });
    expect(JSON.stringify(on)).not.toContain('GATEHOUSE_TOKEN');
  });
});
