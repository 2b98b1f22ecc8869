// The real Claude Code CLI (`claude -p`) under the governance hooks, talking to a live Gatehouse
// whose upstream is a fake Anthropic API that asks for a Bash tool call: the command is denied for
// a person of one department with the rule's reason shown to the model, and runs for a person of
// another, both in the audit trail under the Claude Code session id. Then Gatehouse unreachable:
// a fail-closed rule's tool is refused on the device, a fail-open one runs under the client's own
// permission rules. Finally the same hooks as managed settings pin out a person's own hooks.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushCountedEvents, type AuditEvent } from '@/lib/audit';
import { db, pool } from '@/lib/db/client';
import { startGateway, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '@/lib/gateway/testing';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { invalidateToolPolicyCache } from '@/lib/tool-policy';
import { findClaudeCode } from '@/lib/testing/claude-code';
import type { ToolPolicyRule } from '@/lib/tool-policy';
import { governanceHookSettings, HOOK_TOKEN_ENV } from './settings';

const claude = findClaudeCode();
if ('skip' in claude) console.warn(`skipping the Claude Code governance hook tests: ${claude.skip}`);

const suffix = randomBytes(3).toString('hex');
const PROOF = 'governed-proof.txt';
let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let marketing: UserIdentity;
let engineering: UserIdentity;
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
    return { kind: 'reply' as const, reply: toolUseReply('Bash', { command: `echo governed > ${PROOF} && echo wrote-proof`, description: 'Write the proof file' }) };
  };
}

function newHome(settings: Record<string, unknown>): string {
  const home = mkdtempSync(path.join(tmpdir(), 'gatehouse-hooks-claude-'));
  homes.push(home);
  mkdirSync(path.join(home, '.claude'), { recursive: true });
  writeFileSync(path.join(home, '.claude', 'settings.json'), JSON.stringify(settings));
  return home;
}

/** Runs `claude -p` in `home` (its HOME and working directory); `wrap` runs it through another command. */
function runClaude(home: string, token: string, wrap: string[] = []): Promise<ClaudeRun> {
  const binary = 'path' in claude ? claude.path : 'claude';
  const [command, ...args] = [...wrap, binary, '-p', 'Write the proof file with Bash', '--output-format', 'json'];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, {
      cwd: home,
      env: {
        NODE_ENV: 'production',
        PATH: process.env.PATH,
        HOME: home,
        ANTHROPIC_BASE_URL: gateway.url,
        ANTHROPIC_API_KEY: token,
        [HOOK_TOKEN_ENV]: token,
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let result: ClaudeRun['result'] = null;
      try {
        result = JSON.parse(stdout) as ClaudeRun['result'];
      } catch {
        result = null;
      }
      resolve({ code, stdout, stderr, result, home });
    });
  });
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

/** A loopback port nothing listens on: connections to it are refused at once. */
async function refusedOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * Runs a command with `settings` as this machine's managed-settings.json (/etc/claude-code on
 * Linux; 2.1.332 reads no other place) without touching the machine: a private mount namespace
 * overlays /etc with a writable layer in `home`. Needs root (unshare, mount).
 */
function managedSettingsWrap(home: string, settings: Record<string, unknown>): string[] {
  const policy = path.join(home, 'policy');
  mkdirSync(path.join(policy, 'upper'), { recursive: true });
  mkdirSync(path.join(policy, 'work'), { recursive: true });
  writeFileSync(path.join(policy, 'managed-settings.json'), JSON.stringify(settings));
  const q = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const script = [
    'mount --make-rprivate /',
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${q(path.join(policy, 'upper'))},workdir=${q(path.join(policy, 'work'))} /etc`,
    'mkdir -p /etc/claude-code',
    `cp ${q(path.join(policy, 'managed-settings.json'))} /etc/claude-code/managed-settings.json`,
    'exec "$@"',
  ].join(' && ');
  return ['unshare', '-m', 'sh', '-c', script, 'sh'];
}

function canOverlayEtc(): boolean {
  if (process.getuid?.() !== 0) return false;
  const home = mkdtempSync(path.join(tmpdir(), 'gatehouse-hooks-probe-'));
  try {
    const [command, ...args] = [...managedSettingsWrap(home, {}), 'test', '-f', '/etc/claude-code/managed-settings.json'];
    return spawnSync(command!, args, { timeout: 30_000 }).status === 0;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  if ('skip' in claude) return;
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

describe.skipIf('skip' in claude)('claude -p under the governance hooks', () => {
  it('denies Bash for marketing with the rule as the reason, runs it for engineering, and audits both', async () => {
    const hooks = governanceHookSettings(gateway.url, [], TIMEOUT);

    const denied = await runClaude(newHome(hooks), await tokenFor(gateway, marketing));
    expect(denied.code, denied.stderr).toBe(0);
    expect(proofWritten(denied)).toBe(false);
    expect(denied.result?.permission_denials?.map((denial) => denial.tool_name)).toEqual(['Bash']);
    // What the model was told, and reported back: the hook's reason, naming the rule.
    expect(denied.result?.result).toContain(`marketing runs no shell ${suffix}`);
    expect(denied.result?.result).toContain(rules[0]!);

    const allowed = await runClaude(newHome(hooks), await tokenFor(gateway, engineering));
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
    if (spawnSync('curl', ['--version']).status === 0) expect(allowedEvents.some((event) => event.action === 'claude_code.session_start')).toBe(true);
  }, 300_000);

  it('with Gatehouse unreachable, refuses a fail-closed tool on the device and leaves a fail-open one to the client', async () => {
    const down = await refusedOrigin();
    const token = await tokenFor(gateway, engineering);
    // The person's own permission rules allow Bash: what a fail-open tool falls back to.
    const ownRules = { permissions: { allow: ['Bash'] } };

    const closed = await runClaude(newHome({ ...ownRules, ...governanceHookSettings(down, [rule({ failMode: 'closed' })], TIMEOUT) }), token);
    expect(closed.code, closed.stderr).toBe(0);
    expect(proofWritten(closed)).toBe(false);
    expect(closed.result?.result).toMatch(/onFailure/);

    const open = await runClaude(newHome({ ...ownRules, ...governanceHookSettings(down, [rule({ failMode: 'open' })], TIMEOUT) }), token);
    expect(open.code, open.stderr).toBe(0);
    expect(proofWritten(open)).toBe(true);
  }, 300_000);

  const managed = canOverlayEtc();
  if (!managed) console.warn('skipping the managed-settings test: it needs root to overlay /etc/claude-code in a private mount namespace');
  it.skipIf(!managed)('as managed settings, the hooks run and a person\'s own hook does not', async () => {
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
      const home = newHome({ permissions: { allow: ['Bash'] }, hooks: { PreToolUse: [{ matcher: '*', hooks: [{ type: 'http', url: ownUrl }, { type: 'command', command: ownCommand }] }] } });
      // Gatehouse allows this person's Bash; a hook of theirs that ran would leave its mark.
      const run = await runClaude(home, await tokenFor(gateway, engineering), managedSettingsWrap(home, governanceHookSettings(gateway.url, [], TIMEOUT)));
      expect(run.code, run.stderr).toBe(0);
      expect(proofWritten(run)).toBe(true);
      // allowManagedHooksOnly kept the person's hooks out; allowedHttpHookUrls would refuse the HTTP one too.
      expect(existsSync(path.join(home, 'own-hook-ran'))).toBe(false);
      expect(seen).toEqual([]);
      const events = await sessionEvents(run.result!.session_id!);
      expect(events.find((event) => event.action === 'tool.authorize')).toMatchObject({ outcome: 'success', policy: { decision: 'allow' }, actor: { user_id: engineering.userId } });
    } finally {
      await new Promise<void>((resolve) => own.close(() => resolve()));
    }
  }, 300_000);
});
