import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import { claudeCodeSettingsFor } from '@/lib/mcp/allowlist/distribution';
import { startAllowlistFixture, type AllowlistFixture } from '@/lib/mcp/allowlist/testing/fixture';
import { registerServer, revokeServer, type RegistryActor } from '@/lib/mcp/registry';
import type { FakeUpstream } from '@/lib/mcp/registry/testing/upstream-server';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { listenOnLoopback } from '@/lib/platform/net';
import { orgKeyDocument } from '@/lib/signing';
import { findClaudeCode, managedFilesSupport, runClaudeCode } from '@/lib/testing/claude-code';
import { verifyGatewayToken } from '@/lib/gateway/auth';
import { gatewayAudience } from '@/lib/oauth/issuer';
// @ts-expect-error plain ESM build script without type declarations
import { buildClient } from '@/scripts/lib/bundle.mjs';

/**
 * gatehouse-sync --managed-mcp as devices run it (the one-file bundle under plain node) against a
 * live Gatehouse: it writes Claude Code's managed-mcp.json from the verified allowlist, drops a
 * revoked server at the next run, refuses a replayed older allowlist and leaves a file it did not
 * write alone. The real `claude` then reads what it wrote, and the managed settings Gatehouse
 * serves, from /etc/claude-code (a private mount namespace, so nothing else on the machine sees it).
 */

let fixture: AllowlistFixture;
let server: GatewayHarness;
let upstream: FakeUpstream;
let admin: RegistryActor;
let payer: UserIdentity;
let bundle: string;
let work: string;
let keyFile: string;

beforeAll(async () => {
  fixture = await startAllowlistFixture({ name: 'mcp-sync', title: 'MCP sync tests', departments: ['Payments'] });
  ({ server, upstream, admin } = fixture);
  payer = await createTestUser(['member'], 'Payments', fixture.tenantId);
  await registerServer(admin, { name: 'wiki', transport: 'streamable_http', url: upstream.mcpUrl, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
  await registerServer(admin, { name: 'payments-api', transport: 'streamable_http', url: upstream.mcpUrl, allowPrivateNetwork: true, scope: [{ kind: 'department', value: 'payments' }] });
  await registerServer(admin, { name: 'local-git', transport: 'stdio', command: 'uvx', args: ['mcp-server-git'], scope: [{ kind: 'everyone' }] });
  bundle = (await buildClient('gatehouse-sync')) as string;
  work = mkdtempSync(path.join(tmpdir(), 'gatehouse-mcp-sync-'));
  keyFile = path.join(work, 'org-key.json');
  writeFileSync(keyFile, JSON.stringify({ keys: [(await orgKeyDocument()).keys[0]] }));
}, 180_000);

afterAll(async () => {
  await fixture?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Device {
  root: string;
  mcpFile: string;
}

function newDevice(): Device {
  const root = mkdtempSync(path.join(work, 'device-'));
  return { root, mcpFile: path.join(root, 'claude-code', 'managed-mcp.json') };
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function sync(device: Device, url = server.url) {
  const token = await tokenFor(server, payer);
  return run([bundle, '--server', url, '--token', token, '--dir', path.join(device.root, 'org-plugins'), '--state', path.join(device.root, 'state'), '--org-key', keyFile, '--managed-mcp', device.mcpFile, '--once']);
}

function serversIn(file: string): Record<string, unknown> {
  return (JSON.parse(readFileSync(file, 'utf8')) as { mcpServers: Record<string, unknown> }).mcpServers;
}

/** Gatehouse behind a proxy that answers the allowlist with a stored (older) body. */
async function replayingProxy(allowlistBody: string): Promise<{ url: string; close(): Promise<void> }> {
  const proxy: Server = createServer((req, res) => {
    void (async () => {
      if ((req.url ?? '').startsWith('/api/v1/mcp/allowlist')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(allowlistBody);
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const upstreamResponse = await fetch(`${server.url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? 'application/json' }, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
      res.writeHead(upstreamResponse.status, { 'content-type': upstreamResponse.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await upstreamResponse.arrayBuffer()));
    })();
  });
  const url = await listenOnLoopback(proxy);
  return { url, close: () => new Promise<void>((resolve) => proxy.close(() => resolve())) };
}

/** `claude mcp list` with `files` placed in /etc/claude-code for it alone, or a reason it cannot run here. */
async function claudeMcpList(files: Record<string, string>, home: Record<string, string> = {}): Promise<{ output: string } | { skip: string }> {
  const claude = findClaudeCode();
  if ('skip' in claude) return claude;
  const managed = managedFilesSupport();
  if ('skip' in managed) return managed;
  const root = mkdtempSync(path.join(work, 'claude-home-'));
  for (const [name, content] of Object.entries(home)) writeFileSync(path.join(root, name), content);
  const result = await runClaudeCode(['mcp', 'list'], { home: root, managedFiles: files, timeoutMs: 120_000 });
  return { output: `${result.stdout}${result.stderr}` };
}

describe('gatehouse-sync --managed-mcp', { timeout: 240_000 }, () => {
  it('writes managed-mcp.json from the verified allowlist, drops a revoked server, refuses a replay and a file it did not write', async () => {
    const device = newDevice();
    const held = await (await fetch(`${server.url}/api/v1/mcp/allowlist`, { headers: { authorization: `Bearer ${await tokenFor(server, payer)}` } })).text();

    const first = await sync(device);
    expect(first.code, first.stderr).toBe(0);
    expect(serversIn(device.mcpFile)).toEqual({
      'local-git': { type: 'stdio', command: 'uvx', args: ['mcp-server-git'], env: {} },
      'payments-api': { type: 'http', url: `${server.url}/mcp/servers/payments-api` },
      wiki: { type: 'http', url: `${server.url}/mcp/servers/wiki` },
    });

    // The real client reads exactly these servers from the file.
    const listed = await claudeMcpList({ 'managed-mcp.json': readFileSync(device.mcpFile, 'utf8') });
    if ('skip' in listed) console.warn(`claude mcp list skipped: ${listed.skip}`);
    else {
      expect(listed.output).toMatch(/^wiki: http:\/\/127\.0\.0\.1:\d+\/mcp\/servers\/wiki \(HTTP\)/m);
      expect(listed.output).toMatch(/^payments-api: /m);
      expect(listed.output).toMatch(/^local-git: uvx mcp-server-git/m);
    }

    await revokeServer(admin, 'payments-api', 'contract ended');
    const second = await sync(device);
    expect(second.code, second.stderr).toBe(0);
    expect(Object.keys(serversIn(device.mcpFile)).sort()).toEqual(['local-git', 'wiki']);
    const afterRevoke = readFileSync(device.mcpFile, 'utf8');

    // Someone replays the allowlist from before the revocation: refused, the file is unchanged.
    const proxy = await replayingProxy(held);
    try {
      const replayed = await sync(device, proxy.url);
      expect(replayed.code).toBe(1);
      // The run is reported (stdout) and fails (exit 1).
      expect(replayed.stdout).toMatch(/MCP allowlist not applied: .*older than the \d+ this device applied: refusing a replay/);
      expect(readFileSync(device.mcpFile, 'utf8')).toBe(afterRevoke);
    } finally {
      await proxy.close();
    }

    // A managed-mcp.json the agent did not write is left alone.
    const other = newDevice();
    mkdirSync(path.dirname(other.mcpFile), { recursive: true });
    writeFileSync(other.mcpFile, '{"mcpServers":{"it-team":{"type":"http","url":"https://it.example.com/mcp"}}}\n');
    const foreign = await sync(other);
    expect(foreign.code).toBe(1);
    expect(foreign.stdout).toMatch(/was not written by gatehouse-sync; leaving it alone/);
    expect(Object.keys(serversIn(other.mcpFile))).toEqual(['it-team']);
    expect(existsSync(path.join(other.root, 'state', 'state.json'))).toBe(true);
  });

  it("Claude Code applies the served settings: the person's servers delivered, upstreams and revoked servers denied, others not allowed", async () => {
    // Claude Code takes managedMcpServers only at https URLs: the settings as an https deployment serves them.
    const issuer = 'https://gatehouse.example.com';
    const principal = await verifyGatewayToken(await tokenFor(server, payer), gatewayAudience());
    const settings = await claudeCodeSettingsFor(principal, issuer);
    expect(settings).not.toBeNull();
    const userServers = {
      mcpServers: {
        'around-proxy': { type: 'http', url: upstream.mcpUrl },
        'revoked-direct': { type: 'http', url: `${issuer}/mcp/servers/payments-api` },
        'my-own': { type: 'http', url: 'http://127.0.0.1:9/mine' },
        'wiki-by-hand': { type: 'http', url: `${issuer}/mcp/servers/wiki` },
      },
    };
    const listed = await claudeMcpList({ 'managed-settings.json': JSON.stringify(settings) }, { '.claude.json': JSON.stringify(userServers) });
    if ('skip' in listed) {
      console.warn(`claude mcp list skipped: ${listed.skip}`);
      return;
    }
    expect(listed.output).toMatch(/^wiki: https:\/\/gatehouse\.example\.com\//m);
    expect(listed.output).toMatch(/^wiki-by-hand: /m);
    for (const refused of ['around-proxy', 'revoked-direct', 'my-own', 'payments-api']) expect(listed.output).not.toMatch(new RegExp(`^${refused}:`, 'm'));
  });
});
