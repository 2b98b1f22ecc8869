// The credential helper as Claude runs it: the one-file build in a child process against a live
// Gatehouse (OAuth issuer and gateway on 127.0.0.1), with the device sign-in approved the way a
// person does it in the dashboard's device page. Its answers are used with @anthropic-ai/sdk.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db/client';
import { startGateway, waitForEvents, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import { startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { findClaudeCode, runClaudeCode, type ClaudeRun } from '@/lib/testing/claude-code';
import { freePort } from '@/lib/platform/net';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { revokeUser } from '@/lib/users/revoke';
import { helperEnv, runHelperProcess, signInWith as signInHelper, type HelperRun } from './testing/harness';
// @ts-expect-error: a plain-JS build script without types
import { buildClient } from '@/scripts/lib/bundle.mjs';

let helperFile: string;
let upstream: FakeAnthropic;
let gateway: GatewayHarness;
const homes: string[] = [];

function newHome(): string {
  const home = mkdtempSync(path.join(tmpdir(), 'gatehouse-helper-'));
  homes.push(home);
  return home;
}

function runHelper(args: string[], env: NodeJS.ProcessEnv): Promise<HelperRun> {
  return runHelperProcess(helperFile, args, env);
}

function signInWith(user: UserIdentity, args: string[], env: NodeJS.ProcessEnv): Promise<HelperRun> {
  return signInHelper(helperFile, gateway.url, user, args, env);
}

function state(home: string): { accessToken: string; expiresAt: number; server: string; policyVersion?: string } {
  return JSON.parse(readFileSync(path.join(home, 'state.json'), 'utf8'));
}

function expireCachedToken(home: string): void {
  writeFileSync(path.join(home, 'state.json'), JSON.stringify({ ...state(home), expiresAt: Math.floor(Date.now() / 1000) + 5 }));
}

function storedRefreshToken(home: string): string | undefined {
  return (JSON.parse(readFileSync(path.join(home, 'credentials.json'), 'utf8')) as Record<string, string>)[gateway.url];
}

async function askClaude(token: string, headers: Record<string, string> = {}): Promise<string> {
  const client = new Anthropic({ baseURL: gateway.url, authToken: token, apiKey: null, defaultHeaders: headers, maxRetries: 0 });
  const message = await client.messages.create({ model: 'claude-haiku-5-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

beforeAll(async () => {
  helperFile = await buildClient('gatehouse-helper');
  setRevocationCacheTtl(0);
  upstream = await startFakeAnthropic();
  gateway = await startGateway(
    `
providers:
  fake: { type: anthropic, base_url: ${upstream.url}, max_retries: 0, timeout_ms: 5000 }
gateway:
  default_model: claude-haiku-5-5
  map_unknown_claude_models: true
models:
  claude-haiku-5-5:
    targets: [{ provider: fake, model: haiku-upstream }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 5000000 }
`,
    'helper',
  );
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('gatehouse-helper against a live Gatehouse', () => {
  it('signs in by the device flow, prints only the token, and the token works for Claude', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    const login = await signInWith(user, ['login', '--server', gateway.url], helperEnv(home));
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('');
    expect(login.stderr).toContain(`Signed in to ${gateway.url} as ${user.email}`);
    // Secrets are readable by the user only.
    expect(statSync(path.join(home, 'credentials.json')).mode & 0o077).toBe(0);
    expect(statSync(path.join(home, 'state.json')).mode & 0o077).toBe(0);

    const bare = await runHelper([], helperEnv(home));
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stderr).toBe('');
    expect(bare.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(await askClaude(bare.stdout.trim())).toContain('Hello');

    const status = await runHelper(['status'], helperEnv(home));
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(user.email);
  }, 120_000);

  it('prints Cowork JSON with the seven canonical headers, and OTLP headers', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    expect((await signInWith(user, ['login', '--server', gateway.url], helperEnv(home))).code).toBe(0);

    const json = await runHelper(['--format', 'json'], helperEnv(home));
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { token: string; headers: Record<string, string> };
    expect(Object.keys(parsed.headers).sort()).toEqual(['x-call-source', 'x-client-id', 'x-policy-version', 'x-session-id', 'x-tenant-id', 'x-trace-id', 'x-user-id']);
    expect(parsed.headers['x-user-id']).toBe(user.userId);
    expect(parsed.headers['x-tenant-id']).toBe(user.tenantId);
    expect(parsed.headers['x-trace-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(parsed.headers['x-call-source']).toBe('cowork');
    expect(parsed.headers['x-policy-version']).toMatch(/^pv_/);
    // The gateway compares the identity headers with the token and accepts them.
    expect(await askClaude(parsed.token, parsed.headers)).toContain('Hello');
    const [request] = (await waitForEvents(parsed.headers['x-trace-id']!, ['inference.request'])).filter((event) => event.event_type === 'inference.request');
    expect(request?.actor?.user_id).toBe(user.userId);

    const otel = await runHelper(['otel-headers'], helperEnv(home));
    expect(otel.code).toBe(0);
    const otelHeaders = JSON.parse(otel.stdout) as Record<string, string>;
    expect(otelHeaders.Authorization).toBe(`Bearer ${parsed.token}`);
    expect(otelHeaders['x-user-id']).toBe(user.userId);
    // `headers` (the plugin marketplace's headersHelper) prints the same set.
    const headers = await runHelper(['headers'], helperEnv(home));
    expect(headers.code).toBe(0);
    expect(JSON.parse(headers.stdout)).toEqual(otelHeaders);
  }, 120_000);

  it('refreshes silently near expiry, once, even when several helpers run at the same moment', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    expect((await signInWith(user, ['login', '--server', gateway.url], helperEnv(home))).code).toBe(0);
    const firstToken = state(home).accessToken;
    const firstRefresh = storedRefreshToken(home);
    expireCachedToken(home);

    const runs = await Promise.all([1, 2, 3, 4].map(() => runHelper([], helperEnv(home, { CLAUDE_HELPER_CONTEXT: 'mid-session-refresh' }))));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const tokens = new Set(runs.map((run) => run.stdout.trim()));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(firstToken);
    expect(storedRefreshToken(home)).not.toBe(firstRefresh);
    // Rotation raced by four processes would look like theft and end the sign-in: it did not.
    const sessions = await db().oAuthSession.findMany({ where: { userId: user.userId, surface: 'gatehouse_helper' } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.revokedAt).toBeNull();
    expect(await askClaude([...tokens][0]!)).toContain('Hello');
  }, 120_000);

  it('fails fast without a person, and signs in through the browser when CLAUDE_HELPER_CONTEXT is interactive', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    for (const context of ['background', 'scheduled-task', 'mid-session-refresh', 'setup-test']) {
      const run = await runHelper(['--server', gateway.url], helperEnv(home, { CLAUDE_HELPER_CONTEXT: context }));
      expect(run.code).toBe(3);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`gatehouse-helper login --server ${gateway.url}`);
    }
    const interactive = await signInWith(user, ['--server', gateway.url], helperEnv(home, { CLAUDE_HELPER_CONTEXT: 'interactive' }));
    expect(interactive.code, interactive.stderr).toBe(0);
    expect(interactive.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(await askClaude(interactive.stdout.trim())).toContain('Hello');
  }, 120_000);

  it('a revoked user gets a non-zero exit and one line at once, never the dead token again', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    expect((await signInWith(user, ['login', '--server', gateway.url], helperEnv(home))).code).toBe(0);
    expect((await runHelper([], helperEnv(home))).code).toBe(0);

    await revokeUser(user.email, { call_source: 'system' });
    // The cached token has most of its life left; the helper still must not hand it out.
    const afterRevoke = await runHelper([], helperEnv(home));
    expect(afterRevoke.code).toBe(3);
    expect(afterRevoke.stdout).toBe('');
    expect(afterRevoke.stderr.trim().split('\n')).toHaveLength(1);
    expect(afterRevoke.stderr).toMatch(/sign-in has ended/);
    const again = await runHelper([], helperEnv(home));
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/not signed in/);
  }, 120_000);

  it('logout ends the sign-in on the server and forgets it here', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    expect((await signInWith(user, ['login', '--server', gateway.url], helperEnv(home))).code).toBe(0);
    const logout = await runHelper(['logout'], helperEnv(home));
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain(`Signed out of ${gateway.url}`);
    const sessions = await db().oAuthSession.findMany({ where: { userId: user.userId, surface: 'gatehouse_helper' } });
    expect(sessions.every((session) => session.revokedAt !== null)).toBe(true);
    expect((await runHelper(['status'], helperEnv(home))).code).toBe(3);
  }, 120_000);

  it('keeps the refresh token in the Secret Service through secret-tool, never on a command line', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    // A stand-in for libsecret's secret-tool speaking its command-line protocol.
    const bin = path.join(home, 'bin');
    const vault = path.join(home, 'vault');
    const argvLog = path.join(home, 'argv.log');
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, 'secret-tool'),
      `#!/bin/sh
echo "$*" >> '${argvLog}'
case "$1" in
  store) cat > '${vault}' ;;
  lookup) [ -f '${vault}' ] && cat '${vault}' || exit 1 ;;
  clear) rm -f '${vault}' ;;
esac
`,
    );
    chmodSync(path.join(bin, 'secret-tool'), 0o755);
    const env = { ...helperEnv(home), GATEHOUSE_HELPER_STORE: '', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/dev/null', PATH: `${bin}:${process.env.PATH}` };
    const login = await signInWith(user, ['login', '--server', gateway.url], env);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('secret-service');
    const refreshToken = readFileSync(vault, 'utf8');
    expect(refreshToken.length).toBeGreaterThan(20);
    expect(readFileSync(argvLog, 'utf8')).not.toContain(refreshToken);
    expect(() => statSync(path.join(home, 'credentials.json'))).toThrow();
    expireCachedToken(home);
    const refreshed = await runHelper([], env);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(readFileSync(vault, 'utf8')).not.toBe(refreshToken);
  }, 120_000);

  it('hook: posts the hook input to Gatehouse with its token and prints the answer; without an answer, the fail mode decides', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    expect((await signInWith(user, ['login', '--server', gateway.url], helperEnv(home))).code).toBe(0);
    const input = JSON.stringify({ session_id: 'hook-session', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'ls' }, tool_use_id: 'toolu_hook' });
    const hook = (args: string[], env = helperEnv(home)) => runHelperProcess(helperFile, ['hook', ...args], env, { stdin: input });

    const answered = await hook(['PreToolUse', '--server', gateway.url]);
    expect(answered.code, answered.stderr).toBe(0);
    expect(JSON.parse(answered.stdout)).toMatchObject({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'allow' } });
    const tracked = await runHelperProcess(helperFile, ['hook', 'UserPromptSubmit'], helperEnv(home), { stdin: JSON.stringify({ session_id: 'hook-session', hook_event_name: 'UserPromptSubmit', prompt: 'hi' }) });
    expect(tracked.code).toBe(0);
    expect(JSON.parse(tracked.stdout)).toEqual({});

    // The sign-in's server stops answering (nothing listens on a free port): the cached token is
    // still good, the hook call fails.
    const down = `http://127.0.0.1:${await freePort()}`;
    writeFileSync(path.join(home, 'state.json'), JSON.stringify({ ...state(home), server: down }));
    const closed = await hook(['PreToolUse', '--fail-mode', 'closed', '--timeout', '5']);
    expect(closed.code).toBe(2);
    expect(closed.stdout).toBe('');
    expect(closed.stderr).toMatch(/Gatehouse could not decide this tool call \(cannot reach it: .*\), and its tool policy fails closed/);
    const open = await hook(['PreToolUse', '--fail-mode', 'open', '--timeout', '5']);
    expect(open.code).toBe(0);
    expect(JSON.parse(open.stdout).systemMessage).toMatch(/fails open for this tool, so Claude Code's own permission rules decide/);
    const untracked = await runHelperProcess(helperFile, ['hook', 'PostToolUse'], helperEnv(home), { stdin: '{}' });
    expect(untracked).toMatchObject({ code: 0, stdout: '', stderr: '' });

    // Nobody signed in: a tool call is refused whatever the fail mode, with what to do.
    const nobody = await runHelperProcess(helperFile, ['hook', 'PreToolUse', '--fail-mode', 'open', '--server', gateway.url], helperEnv(newHome()), { stdin: input });
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain(`gatehouse-helper login --server ${gateway.url}`);
  }, 120_000);

  it('says what is wrong in one line for bad usage', async () => {
    const home = newHome();
    for (const args of [['--bogus'], ['frobnicate'], ['--format', 'xml'], ['login'], ['login', '--server', 'not a url'], ['login', '--server', 'http://10.1.2.3'], ['hook'], ['hook', 'Stop'], ['hook', 'PreToolUse', '--fail-mode', 'ajar'], ['token', 'extra']]) {
      const run = await runHelper(args, helperEnv(home));
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  }, 60_000);
});

describe('the real Claude Code CLI with apiKeyHelper set to gatehouse-helper', () => {
  const claude = findClaudeCode();
  if ('skip' in claude) console.warn(`skipping the Claude Code CLI tests: ${claude.skip}`);

  function runClaude(home: string, prompt: string): Promise<ClaudeRun> {
    const claudeHome = path.join(home, 'claude-home');
    mkdirSync(path.join(claudeHome, '.claude'), { recursive: true });
    writeFileSync(path.join(claudeHome, '.claude', 'settings.json'), JSON.stringify({ apiKeyHelper: `"${process.execPath}" "${helperFile}"` }));
    const { GATEHOUSE_HELPER_HOME, GATEHOUSE_HELPER_STORE, GATEHOUSE_HELPER_BROWSER } = helperEnv(home);
    return runClaudeCode(['-p', prompt], { home: claudeHome, env: { GATEHOUSE_HELPER_HOME, GATEHOUSE_HELPER_STORE, GATEHOUSE_HELPER_BROWSER, ANTHROPIC_BASE_URL: gateway.url } });
  }

  it.skipIf('skip' in claude)('answers a prompt through Gatehouse, then reports the helper failing once the user is revoked', async () => {
    const user = await createTestUser(['member']);
    const home = newHome();
    expect((await signInWith(user, ['login', '--server', gateway.url], helperEnv(home))).code).toBe(0);

    const answered = await runClaude(home, 'say hello');
    expect(answered.code, answered.stderr).toBe(0);
    expect(answered.stdout).toContain('Hello from the fake Anthropic upstream');

    await revokeUser(user.email, { call_source: 'system' });
    const refused = await runClaude(home, 'say hello again');
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/apiKeyHelper/i);
  }, 240_000);
});
