import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '@/lib/db/client';
import { DEFAULT_TOOLS, startFakeUpstream, type FakeUpstream } from '@/lib/mcp/registry/testing/upstream-server';
import { configureTestEnvironment, createTestUser } from '@/lib/oauth/test-harness';
import type { UserIdentity } from '@/lib/oauth/identity';

const exec = promisify(execFile);

// The real `gatehouse` launcher, end to end, against the run's database and a real MCP server.
async function gatehouse(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['cli/gatehouse.mjs', 'mcp', ...args], { env: { ...process.env, ...env } });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

let upstream: FakeUpstream;
let admin: UserIdentity;
let member: UserIdentity;
const department = `cli-mcp-${randomBytes(3).toString('hex')}`;
const name = `cli-docs-${randomBytes(3).toString('hex')}`;
const secret = `cli-secret-${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  configureTestEnvironment();
  upstream = await startFakeUpstream();
  upstream.requireAuthorization = `Bearer ${secret}`;
  admin = await createTestUser(['admin']);
  member = await createTestUser(['member'], department);
});
afterAll(async () => {
  await upstream?.close();
});

describe('gatehouse mcp', () => {
  it('adds a server with a secret from the environment, lists, checks drift, approves and revokes', async () => {
    const added = await gatehouse(['add', name, '--url', upstream.mcpUrl, '--department', department, '--secret-env', 'DOCS_TOKEN', '--allow-private-network', '--description', 'Docs', '--as', admin.email], { DOCS_TOKEN: secret });
    expect(added.stdout, added.stderr).toContain(`registered ${name}  active  http ${upstream.mcpUrl}  v1 (2 tools)  for: department ${department}`);

    const listed = await gatehouse(['list', '--json']);
    expect(listed.stdout).not.toContain(secret);
    const server = (JSON.parse(listed.stdout) as { name: string; hasSecret: boolean; upstreamAuth: string }[]).find((entry) => entry.name === name);
    expect(server).toMatchObject({ hasSecret: true, upstreamAuth: 'static_secret' });
    expect((await gatehouse(['list'])).stdout).toContain(`${name}  active`);

    expect((await gatehouse(['check', name, '--as', admin.email])).stdout).toContain(`${name}: 2 tools, as approved`);
    upstream.setTools([...DEFAULT_TOOLS, { name: 'export_all', description: 'Export everything', args: ['target'] }]);
    const drift = await gatehouse(['check', name, '--as', admin.email]);
    expect(drift.stdout, drift.stderr).toContain(`${name}: the tool list changed (added export_all); held as version 2 until approved`);
    const approved = await gatehouse(['approve', name, '--version', '2', '--as', admin.email]);
    expect(approved.stdout, approved.stderr).toContain(`${name}: version 2 approved (3 tools)`);

    const refused = await gatehouse(['revoke', name, '--as', member.email]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe('gatehouse: refused: that needs mcp.admin');
    const revoked = await gatehouse(['revoke', name, '--reason', 'replaced', '--as', admin.email]);
    expect(revoked.stdout, revoked.stderr).toContain(`revoked ${name}`);

    const { rows } = await pool().query<{ event: { action: string; call_source: string } }>("SELECT event FROM audit_events WHERE event->'target'->>'name' = $1 ORDER BY occurred_at, seq", [name]);
    expect(rows.map((row) => `${row.event.action}:${row.event.call_source}`)).toEqual([
      'mcp.server.register:cli',
      'mcp.server.check:cli',
      'mcp.server.check:cli',
      'mcp.server.approve:cli',
      'mcp.server.revoke:cli',
      'mcp.server.revoke:cli',
    ]);
    expect(JSON.stringify(rows)).not.toContain(secret);
  }, 300_000);

  it('adds a stdio server devices run and records its tools from a file', async () => {
    const local = `${name}-local`;
    const added = await gatehouse(['add', local, '--command', 'npx', '--arg=-y', '--arg', '@example/git-mcp', '--env', 'READONLY=1', '--everyone', '--as', admin.email]);
    expect(added.stdout, added.stderr).toContain(`registered ${local}  active  stdio npx -y @example/git-mcp  v1 (0 tools)  for: everyone`);
    const folder = mkdtempSync(path.join(tmpdir(), 'gatehouse-mcp-tools-'));
    try {
      writeFileSync(path.join(folder, 'tools.json'), JSON.stringify([{ name: 'git_log', description: 'Show the log', inputSchema: { type: 'object' } }]));
      const recorded = await gatehouse(['tools', local, '--file', path.join(folder, 'tools.json'), '--as', admin.email]);
      expect(recorded.stdout, recorded.stderr).toContain(`${local}: version 2 has 1 tools`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 300_000);

  it('adds an oauth_user server with --oauth, its client id and a client secret from the environment', async () => {
    const oauthName = `cli-oauth-${randomBytes(3).toString('hex')}`;
    const clientSecret = `cli-client-secret-${randomBytes(12).toString('hex')}`;
    const added = await gatehouse(
      ['add', oauthName, '--url', upstream.mcpUrl, '--everyone', '--oauth', '--client-id', 'gatehouse-at-docs', '--client-secret-env', 'DOCS_CLIENT_SECRET', '--oauth-scope', 'docs:read', '--allow-private-network', '--as', admin.email],
      { DOCS_CLIENT_SECRET: clientSecret },
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`${oauthName} signs in each person: connect your own account on the dashboard`);
    const listed = await gatehouse(['list', '--json']);
    expect(listed.stdout).not.toContain(clientSecret);
    const server = (JSON.parse(listed.stdout) as { name: string; upstreamAuth: string; oauth: unknown }[]).find((entry) => entry.name === oauthName);
    expect(server).toMatchObject({ upstreamAuth: 'oauth_user', oauth: { clientId: 'gatehouse-at-docs', scope: 'docs:read', hasClientSecret: true } });
  }, 300_000);

  it('fails in one line on a wrong argument', async () => {
    const cases: [string[], RegExp][] = [
      [['add', 'x', '--url', 'https://mcp.example.com/', '--transport', 'websocket'], /^gatehouse: --transport must be http \(Streamable HTTP, the default\) or sse, not "websocket"$/],
      [['add', 'x', '--url', 'https://mcp.example.com/', '--secret-env', 'GATEHOUSE_TEST_UNSET_VAR'], /^gatehouse: --secret-env GATEHOUSE_TEST_UNSET_VAR: that environment variable is not set or empty$/],
      [['add', 'x', '--url', 'https://mcp.example.com/', '--client-id', 'abc'], /^gatehouse: --client-id needs --oauth$/],
      [['add', 'x', '--url', 'https://mcp.example.com/', '--oauth', '--secret-env', 'HOME'], /^gatehouse: --oauth and --secret-env are two kinds of upstream auth: give one$/],
      [['add', 'x', '--url', 'https://mcp.example.com/', '--oauth', '--client-secret-env', 'HOME'], /^gatehouse: --client-secret-env needs --client-id$/],
      [['approve', name, '--version', 'two'], /^gatehouse: --version must be a positive whole number, not "two"$/],
      [['list', '--colour'], /^gatehouse: Unknown option '--colour'/],
      [['frobnicate'], /^gatehouse: unknown mcp command "frobnicate"/],
    ];
    for (const [args, message] of cases) {
      const result = await gatehouse(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr.trim(), args.join(' ')).toMatch(message);
    }
  }, 300_000);
});
