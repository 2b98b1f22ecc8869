// The credential helper as Claude runs it: the one-file build in a child process against a live
// Gatehouse (OAuth issuer and gateway on 127.0.0.1), with the device sign-in approved the way a
// person does it in the dashboard's device page. Its answers are used with @anthropic-ai/sdk.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db/client';
import { startGateway, waitForEvents, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import { startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import type { UserIdentity } from '@/lib/oauth/identity';
import { cookiesFrom, createTestUser, hiddenInput, postForm, randomTestIp, sessionCookie } from '@/lib/oauth/test-harness';
import { findClaudeCode } from '@/lib/testing/claude-code';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { revokeUser } from '@/lib/users/revoke';
// @ts-expect-error: a plain-JS build script without types
import { buildClient } from '@/scripts/lib/bundle.mjs';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let helperFile: string;
let upstream: FakeAnthropic;
let gateway: GatewayHarness;
const homes: string[] = [];

function newHome(): string {
  const home = mkdtempSync(path.join(tmpdir(), 'gatehouse-helper-'));
  homes.push(home);
  return home;
}

function helperEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { NODE_ENV: 'production', PATH: process.env.PATH, HOME: home, GATEHOUSE_HELPER_HOME: home, GATEHOUSE_HELPER_STORE: 'file', GATEHOUSE_HELPER_BROWSER: 'none', ...extra };
}

/** Runs the helper; `onStderr` sees stderr as it arrives (the sign-in URL is printed there). */
function runHelper(args: string[], env: NodeJS.ProcessEnv, onStderr?: (text: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [helperFile, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The person opens the printed link while signed in to the dashboard and approves. */
async function approveInBrowser(user: UserIdentity, verificationUrl: string): Promise<void> {
  const ip = randomTestIp();
  const cookie = await sessionCookie(user);
  const page = await fetch(verificationUrl, { headers: { cookie, 'x-forwarded-for': ip } });
  expect(page.status).toBe(200);
  const html = await page.text();
  const decided = await postForm(`${gateway.url}/device`, { user_code: hiddenInput(html, 'user_code')!, csrf: hiddenInput(html, 'csrf')!, decision: 'approve' }, { cookie: `${cookie}; ${cookiesFrom(page)}`, 'x-forwarded-for': ip });
  expect(decided.status).toBeLessThan(400);
}

/** Runs a helper command that signs in, approving the sign-in when its link appears on stderr. */
async function signInWith(user: UserIdentity, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  let approving: Promise<void> | null = null;
  const run = await runHelper(args, env, (stderr) => {
    const link = /open (\S+) and confirm the code/.exec(stderr)?.[1];
    if (link && !approving) approving = approveInBrowser(user, link);
  });
  expect(approving, run.stderr).not.toBeNull();
  await approving;
  return run;
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

  it('says what is wrong in one line for bad usage', async () => {
    const home = newHome();
    for (const args of [['--bogus'], ['frobnicate'], ['--format', 'xml'], ['login'], ['login', '--server', 'not a url'], ['login', '--server', 'http://10.1.2.3']]) {
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

  function runClaude(home: string, prompt: string): Promise<Run> {
    const claudeHome = path.join(home, 'claude-home');
    mkdirSync(path.join(claudeHome, '.claude'), { recursive: true });
    writeFileSync(path.join(claudeHome, '.claude', 'settings.json'), JSON.stringify({ apiKeyHelper: `"${process.execPath}" "${helperFile}"` }));
    return new Promise((resolve, reject) => {
      const child = spawn('path' in claude ? claude.path : 'claude', ['-p', prompt], {
        cwd: claudeHome,
        env: {
          ...helperEnv(home),
          HOME: claudeHome,
          ANTHROPIC_BASE_URL: gateway.url,
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
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
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
