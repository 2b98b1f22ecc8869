// The real Claude Code CLI (`claude -p`) under the governance hooks, talking to a live Gatehouse
// whose upstream is a fake Anthropic API that asks for a Bash tool call: the command is denied for
// a person of one department with the rule's reason shown to the model, and runs for a person of
// another, both in the audit trail under the Claude Code session id. Then Gatehouse unreachable:
// a fail-closed rule's tool is refused on the device, a fail-open one runs under the client's own
// permission rules. Both ways of reaching Gatehouse: command hooks running a signed-in
// gatehouse-helper (no token in the environment at all), and HTTP hooks with GATEHOUSE_TOKEN.
// Finally the helper's hooks as managed settings pin out a person's own hooks.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushCountedEvents, type AuditEvent } from '@/lib/audit';
import { db, pool } from '@/lib/db/client';
import { startGateway, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '@/lib/gateway/testing';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { freePort } from '@/lib/platform/net';
import { invalidateToolPolicyCache } from '@/lib/tool-policy';
import { findClaudeCode, managedFilesSupport, runClaudeCode } from '@/lib/testing/claude-code';
import type { ToolPolicyRule } from '@/lib/tool-policy';
import { helperEnv, signInWith } from '@/lib/credential-helper/testing/harness';
import { posixQuote } from '@/lib/platform/shell';
import { governanceHookSettings, HOOK_TOKEN_ENV, type HookTransport } from './settings';
// @ts-expect-error: a plain-JS build script without types
import { buildClient } from '@/scripts/lib/bundle.mjs';

const claude = findClaudeCode();
if ('skip' in claude) console.warn(`skipping the Claude Code governance hook tests: ${claude.skip}`);

const suffix = randomBytes(3).toString('hex');
const PROOF = 'governed-proof.txt';
let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let marketing: UserIdentity;
let engineering: UserIdentity;
let helperFile: string;
const rules: string[] = [];
// A loaded test machine must not turn a slow answer into a failed hook (which blocks fail-closed tools).
const TIMEOUT = 120;
const homes: string[] = [];

interface ClaudeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  result: { session_id?: string; result?: string; permission_denials?: { tool_name: string }[] } | null;
  home: string;
}

/** Messages with tools ask for Bash once; given the tool's result, the model reports it verbatim. */
function modelBehaviour() {
  return (request: { body: unknown }) => {
    const body = request.body as { tools?: unknown[]; messages: { content: unknown }[] };
    if (!body.tools?.length) return { kind: 'reply' as const, reply: textReply('Governed session') };
    const last = JSON.stringify(body.messages.at(-1)?.content ?? '');
    if (last.includes('tool_result')) return { kind: 'reply' as const, reply: textReply(`TOOL RESULT WAS: ${last}`) };
    return { kind: 'reply' as const, reply: toolUseReply('Bash', { command: `echo governed > ${PROOF} && echo wrote-proof "token=[\${${HOOK_TOKEN_ENV}:+set}]"`, description: 'Write the proof file' }) };
  };
}

function newHome(settings: Record<string, unknown>): string {
  const home = mkdtempSync(path.join(tmpdir(), 'gatehouse-hooks-claude-'));
  homes.push(home);
  mkdirSync(path.join(home, '.claude'), { recursive: true });
  writeFileSync(path.join(home, '.claude', 'settings.json'), JSON.stringify(settings));
  return home;
}

/**
 * How a run authenticates: HTTP hooks and model calls with a token in the environment, or the
 * helper signed in under `helperHome` for both (apiKeyHelper and the hooks) and no token anywhere.
 */
type Credential = { token: string } | { helperHome: string };

/** Runs `claude -p` in `home` (its HOME and working directory), with `managed` as its managed-settings.json. */
async function runClaude(home: string, credential: Credential, managed?: Record<string, unknown>): Promise<ClaudeRun> {
  const env: Record<string, string> = { ANTHROPIC_BASE_URL: gateway.url };
  if ('token' in credential) Object.assign(env, { ANTHROPIC_API_KEY: credential.token, [HOOK_TOKEN_ENV]: credential.token });
  else Object.assign(env, { GATEHOUSE_HELPER_HOME: credential.helperHome, GATEHOUSE_HELPER_STORE: 'file', GATEHOUSE_HELPER_BROWSER: 'none' });
  const run = await runClaudeCode(['-p', 'Write the proof file with Bash', '--output-format', 'json'], { home, env, ...(managed ? { managedFiles: { 'managed-settings.json': JSON.stringify(managed) } } : {}) });
  let result: ClaudeRun['result'] = null;
  try {
    result = JSON.parse(run.stdout) as ClaudeRun['result'];
  } catch {
    result = null;
  }
  return { ...run, result, home };
}

/** The helper's command hooks, and the helper as the API key source, at `origin`. */
function helperSettings(origin: string, rules: ToolPolicyRule[]): Record<string, unknown> {
  const transport: HookTransport = { kind: 'helper', path: helperFile, shell: 'posix' };
  return { apiKeyHelper: `${posixQuote(helperFile)} --server ${posixQuote(origin)}`, ...governanceHookSettings(origin, rules, { transport, timeoutSeconds: TIMEOUT }) };
}

function httpSettings(origin: string, rules: ToolPolicyRule[]): Record<string, unknown> {
  return governanceHookSettings(origin, rules, { transport: { kind: 'http' }, timeoutSeconds: TIMEOUT });
}

/** A helper state folder signed in as `user` to `origin` by the device flow, approved in the dashboard. */
async function signedInHelper(user: UserIdentity, origin: string): Promise<string> {
  const home = mkdtempSync(path.join(tmpdir(), 'gatehouse-hooks-helper-'));
  homes.push(home);
  const login = await signInWith(helperFile, gateway.url, user, ['login', '--server', origin], helperEnv(home));
  expect(login.code, login.stderr).toBe(0);
  return home;
}

/** A TCP forwarder to the gateway: a Gatehouse address that can be taken down. */
async function startForwarder(): Promise<{ origin: string; close(): Promise<void> }> {
  const { port } = new URL(gateway.url);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    const upstream = connect(Number(port), '127.0.0.1');
    for (const end of [socket, upstream]) {
      sockets.add(end);
      end.on('error', () => undefined);
      end.on('close', () => sockets.delete(end));
    }
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function proofWritten(run: ClaudeRun): boolean {
  return existsSync(path.join(run.home, PROOF)) && readFileSync(path.join(run.home, PROOF), 'utf8').trim() === 'governed';
}

async function sessionEvents(sessionId: string): Promise<AuditEvent[]> {
  await flushCountedEvents({ all: true });
  const { rows } = await pool().query<{ event: AuditEvent }>('SELECT event FROM audit_events WHERE session_id = $1 ORDER BY seq', [sessionId]);
  return rows.map((row) => row.event);
}

async function departmentId(user: UserIdentity): Promise<string> {
  return (await db().department.findUniqueOrThrow({ where: { tenantId_slug: { tenantId: user.tenantId, slug: user.department! } }, select: { id: true } })).id;
}

function rule(overrides: Partial<ToolPolicyRule>): ToolPolicyRule {
  return { id: 'r', server: 'claude', tool: 'Bash', principalKind: 'everyone', principal: '', conditions: {}, decision: 'allow', failMode: 'closed', description: '', enabled: true, ...overrides };
}

beforeAll(async () => {
  if ('skip' in claude) return;
  // The helper as laptops get it: one executable file (its #! line runs node).
  helperFile = (await buildClient('gatehouse-helper')) as string;
  chmodSync(helperFile, 0o755);
  upstream = await startFakeAnthropic({ behaviour: modelBehaviour() });
  gateway = await startGateway(
    `
providers:
  fake: { type: anthropic, base_url: ${upstream.url}, max_retries: 0, timeout_ms: 60000 }
gateway:
  default_model: claude-haiku-5-5
  map_unknown_claude_models: true
models:
  claude-haiku-5-5:
    targets: [{ provider: fake, model: haiku-upstream }]
    price: { input_per_mtok_microdollars: 0, output_per_mtok_microdollars: 0 }
`,
    'hooks-claude',
  );
  marketing = await createTestUser(['member'], `marketing-cc-${suffix}`);
  engineering = await createTestUser(['member'], `engineering-cc-${suffix}`);
  const created = await db().toolPolicyRule.create({
    data: { tenantId: marketing.tenantId, server: 'claude', tool: 'Bash', principalKind: 'department', principal: await departmentId(marketing), decision: 'block', failMode: 'closed', description: `marketing runs no shell ${suffix}` },
  });
  rules.push(created.id);
  // Written straight to the table: the rule cache must not keep the tenant's earlier rules.
  invalidateToolPolicyCache();
}, 300_000);

afterAll(async () => {
  if (rules.length) await db().toolPolicyRule.deleteMany({ where: { id: { in: rules } } });
  await gateway?.close();
  await upstream?.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/** Both sessions' runs: marketing's Bash denied with the rule as the reason, engineering's run; both audited. */
async function expectDeniedAndAllowed(denied: ClaudeRun, allowed: ClaudeRun): Promise<void> {
  expect(denied.code, denied.stderr).toBe(0);
  expect(proofWritten(denied)).toBe(false);
  expect(denied.result?.permission_denials?.map((denial) => denial.tool_name)).toEqual(['Bash']);
  // What the model was told, and reported back: the hook's reason, naming the rule.
  expect(denied.result?.result).toContain(`marketing runs no shell ${suffix}`);
  expect(denied.result?.result).toContain(rules[0]!);

  expect(allowed.code, allowed.stderr).toBe(0);
  expect(proofWritten(allowed)).toBe(true);
  expect(allowed.result?.result).toContain('wrote-proof');

  const deniedEvents = await sessionEvents(denied.result!.session_id!);
  const deniedDecision = deniedEvents.find((event) => event.action === 'tool.authorize');
  expect(deniedDecision).toMatchObject({ event_type: 'policy.decision', outcome: 'denied', call_source: 'hook', actor: { user_id: marketing.userId }, policy: { decision: 'block', rule: rules[0] }, gen_ai: { tool_name: 'Bash' } });
  expect(deniedEvents.some((event) => event.action === 'tools.call')).toBe(false);
  // The same session's model calls went through the gateway under the same session id.
  expect(deniedEvents.some((event) => event.event_type === 'inference.request')).toBe(true);

  const allowedEvents = await sessionEvents(allowed.result!.session_id!);
  expect(allowedEvents.find((event) => event.action === 'tool.authorize')).toMatchObject({ outcome: 'success', actor: { user_id: engineering.userId }, policy: { decision: 'allow', rule: 'tool_policy.default' } });
  const result = allowedEvents.find((event) => event.action === 'tools.call');
  expect(result).toMatchObject({ event_type: 'mcp.tool_call', outcome: 'success', mcp: { server: 'claude', tool: 'Bash' } });
  expect(allowedEvents.find((event) => event.action === 'tool.authorize')!.gen_ai?.tool_call_id).toBe(result!.gen_ai?.tool_call_id);
  expect(allowedEvents.some((event) => event.action === 'claude_code.prompt_submit')).toBe(true);
}

/** The person's own permission rules allow Bash: what a fail-open tool falls back to. */
const OWN_RULES = { permissions: { allow: ['Bash'] } };

describe.skipIf('skip' in claude)('claude -p under the governance hooks run by gatehouse-helper (no token in the environment)', () => {
  it('denies Bash for marketing with the rule as the reason, runs it for engineering, and audits both', async () => {
    const [marketingHelper, engineeringHelper] = await Promise.all([signedInHelper(marketing, gateway.url), signedInHelper(engineering, gateway.url)]);
    const settings = helperSettings(gateway.url, []);
    // Nothing carries a token but the helper's sign-in: not the settings, nor (below) the environment.
    expect(JSON.stringify(settings)).not.toContain(HOOK_TOKEN_ENV);
    const denied = await runClaude(newHome(settings), { helperHome: marketingHelper });
    const allowed = await runClaude(newHome(settings), { helperHome: engineeringHelper });
    await expectDeniedAndAllowed(denied, allowed);
    // The command ran in Claude Code's environment, and GATEHOUSE_TOKEN was not in it.
    expect(allowed.result?.result).toContain('token=[]');
    // Session starts go through the helper too.
    expect((await sessionEvents(allowed.result!.session_id!)).some((event) => event.action === 'claude_code.session_start')).toBe(true);
  }, 400_000);

  it('with Gatehouse down, refuses a fail-closed tool with the reason and leaves a fail-open one to the client', async () => {
    // Signed in through an address that is then taken down: the cached token stays good.
    const forwarder = await startForwarder();
    const helperHome = await signedInHelper(engineering, forwarder.origin);
    await forwarder.close();

    const closed = await runClaude(newHome({ ...OWN_RULES, ...helperSettings(forwarder.origin, [rule({ failMode: 'closed' })]) }), { helperHome });
    expect(closed.code, closed.stderr).toBe(0);
    expect(proofWritten(closed)).toBe(false);
    // The helper's reason (exit 2, stderr) is what the model was told.
    expect(closed.result?.result).toMatch(/Gatehouse could not decide this tool call \(cannot reach it[^)]*\), and its tool policy fails closed/);

    const open = await runClaude(newHome({ ...OWN_RULES, ...helperSettings(forwarder.origin, [rule({ failMode: 'open' })]) }), { helperHome });
    expect(open.code, open.stderr).toBe(0);
    expect(proofWritten(open)).toBe(true);
  }, 400_000);

  it('refuses a fail-closed tool when the helper cannot even start (onFailure)', async () => {
    const settings = governanceHookSettings(gateway.url, [rule({ failMode: 'closed' })], { transport: { kind: 'helper', path: path.join(tmpdir(), `no-such-helper-${suffix}`), shell: 'posix' }, timeoutSeconds: TIMEOUT });
    const run = await runClaude(newHome({ ...OWN_RULES, ...settings }), { token: await tokenFor(gateway, engineering) });
    expect(run.code, run.stderr).toBe(0);
    expect(proofWritten(run)).toBe(false);
    expect(run.result?.result).toMatch(/onFailure/);
  }, 400_000);

  const managed = managedFilesSupport();
  if ('skip' in managed) console.warn(`skipping the managed-settings test: ${managed.skip}`);
  it.skipIf('skip' in managed)("as managed settings, the helper's hooks run and a person's own hooks do not", async () => {
    // The person's own settings: a hook of theirs that would answer "allow", and Bash allowed.
    const seen: string[] = [];
    const own = createHttpServer((request, response) => {
      seen.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'allow', permissionDecisionReason: 'mine' } }));
    });
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    try {
      const ownUrl = `http://127.0.0.1:${(own.address() as { port: number }).port}/allow-everything`;
      // A command hook of theirs (not subject to allowedHttpHookUrls) leaves a mark when it runs.
      const ownCommand = `touch own-hook-ran; echo '${JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'allow', permissionDecisionReason: 'mine' } })}'`;
      const home = newHome({ ...OWN_RULES, hooks: { PreToolUse: [{ matcher: '*', hooks: [{ type: 'http', url: ownUrl }, { type: 'command', command: ownCommand }] }] } });
      // Marketing's Bash is blocked by Gatehouse; a hook of theirs that ran first would leave its mark.
      const run = await runClaude(home, { helperHome: await signedInHelper(marketing, gateway.url) }, helperSettings(gateway.url, []));
      expect(run.code, run.stderr).toBe(0);
      expect(proofWritten(run)).toBe(false);
      expect(run.result?.result).toContain(`marketing runs no shell ${suffix}`);
      // allowManagedHooksOnly kept the person's hooks out; allowedHttpHookUrls ([]) would refuse the HTTP one too.
      expect(existsSync(path.join(home, 'own-hook-ran'))).toBe(false);
      expect(seen).toEqual([]);
      const events = await sessionEvents(run.result!.session_id!);
      expect(events.find((event) => event.action === 'tool.authorize')).toMatchObject({ outcome: 'denied', policy: { decision: 'block', rule: rules[0] }, actor: { user_id: marketing.userId } });
    } finally {
      await new Promise<void>((resolve) => own.close(() => resolve()));
    }
  }, 400_000);
});

describe.skipIf('skip' in claude)('claude -p under the governance HTTP hooks (GATEHOUSE_TOKEN)', () => {
  it('denies Bash for marketing with the rule as the reason, runs it for engineering, and audits both', async () => {
    const hooks = httpSettings(gateway.url, []);
    const denied = await runClaude(newHome(hooks), { token: await tokenFor(gateway, marketing) });
    const allowed = await runClaude(newHome(hooks), { token: await tokenFor(gateway, engineering) });
    await expectDeniedAndAllowed(denied, allowed);
    if (spawnSync('curl', ['--version']).status === 0) expect((await sessionEvents(allowed.result!.session_id!)).some((event) => event.action === 'claude_code.session_start')).toBe(true);
  }, 400_000);

  it('with Gatehouse unreachable, refuses a fail-closed tool on the device and leaves a fail-open one to the client', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const token = await tokenFor(gateway, engineering);

    const closed = await runClaude(newHome({ ...OWN_RULES, ...httpSettings(down, [rule({ failMode: 'closed' })]) }), { token });
    expect(closed.code, closed.stderr).toBe(0);
    expect(proofWritten(closed)).toBe(false);
    expect(closed.result?.result).toMatch(/onFailure/);

    const open = await runClaude(newHome({ ...OWN_RULES, ...httpSettings(down, [rule({ failMode: 'open' })]) }), { token });
    expect(open.code, open.stderr).toBe(0);
    expect(proofWritten(open)).toBe(true);
  }, 400_000);
});
