import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, pool } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { listenOnLoopback } from '@/lib/platform/net';
import { JWS_TYPES, orgKeyDocument, publicJwkOf, rotateOrgKey, signCompact, type KeyRollover } from '@/lib/signing';
import { decryptPrivateKey } from '@/lib/tokens/key-encryption';
import { installationSecret } from '@/lib/tokens/secret';
import { findClaudeCode, runClaudeCode } from '@/lib/testing/claude-code';
// @ts-expect-error plain ESM build script without type declarations
import { buildClient } from '@/scripts/lib/bundle.mjs';
import { treeDigest } from '../digest';
import { approveVersion, entitle, withdrawVersion } from '../lifecycle';
import { actorOf, publishSample, startPluginServer, tokenFor, uniqueName, users, type GatewayHarness } from '../testing/harness';

/**
 * gatehouse-sync as devices run it: the one-file bundle under plain `node`, against a live
 * Gatehouse, writing into temporary directories. A proxy in between tampers, replays and stalls.
 */

let server: GatewayHarness;
let people: Awaited<ReturnType<typeof users>>;
let bundle: string;
let work: string;
let keyFile: string;
const admin = () => actorOf(people.admin);

beforeAll(async () => {
  server = await startPluginServer('plugins-sync');
  people = await users(randomBytes(3).toString('hex'));
  bundle = (await buildClient('gatehouse-sync')) as string;
  work = mkdtempSync(path.join(tmpdir(), 'gatehouse-sync-test-'));
  keyFile = path.join(work, 'org-key.json');
  // What MDM pins: the organisation's current public key.
  writeFileSync(keyFile, JSON.stringify({ keys: [(await orgKeyDocument()).keys[0]] }));
}, 120_000);
afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Device {
  dir: string;
  state: string;
}

function newDevice(): Device {
  const root = mkdtempSync(path.join(work, 'device-'));
  return { dir: path.join(root, 'org-plugins'), state: path.join(root, 'state') };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startAgent(device: Device, token: string, url = server.url, extra: string[] = []): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [bundle, '--server', url, '--token', token, '--dir', device.dir, '--state', device.state, '--org-key', keyFile, '--once', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

function runAgent(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function sync(device: Device, user: UserIdentity, url?: string, extra?: string[]): Promise<Run> {
  return startAgent(device, await tokenFor(server, user), url, extra).done;
}

/** Folder names in the plugins directory, hidden ones (staging, moved aside) included. */
function entries(device: Device): string[] {
  return existsSync(device.dir) ? readdirSync(device.dir).sort() : [];
}

function versionOnDisk(device: Device, name: string): string | null {
  const file = path.join(device.dir, name, '.claude-plugin', 'plugin.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : null;
}

async function release(name: string, version: string, options: { withHooks?: boolean; withMcp?: boolean } = {}): Promise<string> {
  const published = await publishSample(actorOf(people.author), { name, version, ...options });
  await approveVersion(admin(), published.versionId, 'ok');
  return published.versionId;
}

type Tamper = (pathname: string, body: Buffer) => Buffer | 'stall';

/** A proxy to Gatehouse that may rewrite or stall responses. */
async function startProxy(tamper: Tamper): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server_: Server = createServer((req, res) => {
    void (async () => {
      requests.push(req.url ?? '');
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const upstream = await fetch(`${server.url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? 'application/json' }, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
      const body = tamper(new URL(req.url ?? '/', 'http://x').pathname, Buffer.from(await upstream.arrayBuffer()));
      if (body === 'stall') return; // never answers: the agent is killed meanwhile
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(body);
    })();
  });
  const url = await listenOnLoopback(server_);
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server_.closeAllConnections();
        server_.close(() => resolve());
      }),
  };
}

async function syncEvents(userId: string): Promise<{ outcome: string; attributes: Record<string, string | number> }[]> {
  const { rows } = await pool().query<{ event: { outcome: string; attributes: Record<string, string | number> } }>(
    "SELECT event FROM audit_events WHERE event->>'action' = 'plugin.sync' AND event->'actor'->>'user_id' = $1 ORDER BY seq",
    [userId],
  );
  return rows.map((row) => row.event);
}

// Each test runs the agent several times as a child process: generous on a loaded machine.
describe('gatehouse-sync', { timeout: 240_000 }, () => {
  it('writes the entitled set, propagates a new version, removes a withdrawn one, leaves foreign files', async () => {
    const name = uniqueName('research-kit');
    await release(name, '1.0.0', { withHooks: true });
    await entitle(admin(), name, { kind: 'department', value: people.research });
    const device = newDevice();
    mkdirSync(path.join(device.dir, 'hand-installed'), { recursive: true });
    writeFileSync(path.join(device.dir, 'hand-installed', 'keep.txt'), 'not ours');

    const first = await sync(device, people.researcher);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`installed ${name}@1.0.0`);
    expect(versionOnDisk(device, name)).toBe('1.0.0');
    expect(readFileSync(path.join(device.dir, 'hand-installed', 'keep.txt'), 'utf8')).toBe('not ours');
    // Hook scripts stay executable after the trip through the archive.
    expect(spawnSync(path.join(device.dir, name, 'hooks', 'check.sh')).status).toBe(0);
    const events = await syncEvents(people.researcher.userId);
    expect(events.at(-1)).toMatchObject({ outcome: 'success', attributes: expect.objectContaining({ device_id: expect.stringMatching(/^dev-/), installed: `${name}@1.0.0` }) });

    await release(name, '1.1.0', { withHooks: true });
    const second = await sync(device, people.researcher);
    expect(second.code, second.stderr).toBe(0);
    expect(versionOnDisk(device, name)).toBe('1.1.0');

    await withdrawVersion(admin(), name, '1.1.0', 'Broken hook');
    await withdrawVersion(admin(), name, '1.0.0', 'Broken hook too');
    const third = await sync(device, people.researcher);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain(`removed ${name}`);
    expect(entries(device)).not.toContain(name);
    expect(entries(device)).toContain('hand-installed');
  });

  it('gives two users in different departments different sets', async () => {
    const forResearch = uniqueName('only-research');
    const forSales = uniqueName('only-sales');
    await release(forResearch, '1.0.0');
    await release(forSales, '1.0.0');
    await entitle(admin(), forResearch, { kind: 'department', value: people.research });
    await entitle(admin(), forSales, { kind: 'department', value: people.sales });
    const researcherDevice = newDevice();
    const sellerDevice = newDevice();
    expect((await sync(researcherDevice, people.researcher)).code).toBe(0);
    expect((await sync(sellerDevice, people.seller)).code).toBe(0);
    expect(entries(researcherDevice)).toContain(forResearch);
    expect(entries(researcherDevice)).not.toContain(forSales);
    expect(entries(sellerDevice)).toContain(forSales);
    expect(entries(sellerDevice)).not.toContain(forResearch);
  });

  it('rejects a tampered archive or signature and leaves nothing partial', async () => {
    const name = uniqueName('tamper');
    await release(name, '1.0.0');
    await entitle(admin(), name, { kind: 'user', value: people.seller.email });
    const device = newDevice();
    expect((await sync(device, people.seller)).code).toBe(0);
    const before = entries(device);
    await release(name, '1.0.1');

    const flipArchive = await startProxy((pathname, body) => {
      if (!pathname.startsWith('/api/v1/plugins/archive/')) return body;
      const copy = Buffer.from(body);
      copy[Math.floor(copy.length / 3)]! ^= 0xff;
      return copy;
    });
    const archiveRun = await sync(device, people.seller, flipArchive.url);
    await flipArchive.close();
    expect(archiveRun.code).toBe(1);
    expect(archiveRun.stderr + archiveRun.stdout).toMatch(/archive sha256 .* does not match/);
    expect(entries(device)).toEqual(before);
    expect(versionOnDisk(device, name)).toBe('1.0.0');

    const forgeSet = await startProxy((pathname, body) => {
      if (pathname !== '/api/v1/plugins/entitled') return body;
      const { jws } = JSON.parse(body.toString()) as { jws: string };
      const [header, payload, signature] = jws.split('.');
      const set = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { plugins: { name: string }[] };
      set.plugins = set.plugins.filter((plugin) => plugin.name !== name);
      return Buffer.from(JSON.stringify({ jws: `${header}.${Buffer.from(JSON.stringify(set)).toString('base64url')}.${signature}` }));
    });
    const forged = await sync(device, people.seller, forgeSet.url);
    await forgeSet.close();
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/signature does not verify/);
    expect(entries(device)).toEqual(before);

    const good = await sync(device, people.seller);
    expect(good.code, good.stderr).toBe(0);
    expect(versionOnDisk(device, name)).toBe('1.0.1');
    expect(treeDigest(readTree(path.join(device.dir, name)))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a replayed older signed set, an unpinned or foreign key', async () => {
    const name = uniqueName('replay');
    await release(name, '1.0.0');
    await entitle(admin(), name, { kind: 'user', value: people.researcher.email });
    let recorded: Buffer | null = null;
    const recorder = await startProxy((pathname, body) => {
      if (pathname === '/api/v1/plugins/entitled') recorded = body;
      return body;
    });
    const device = newDevice();
    expect((await sync(device, people.researcher, recorder.url)).code).toBe(0);
    await recorder.close();

    await withdrawVersion(admin(), name, '1.0.0', 'Withdrawn');
    expect((await sync(device, people.researcher)).code).toBe(0);
    expect(entries(device)).not.toContain(name);

    // The older set, still validly signed and inside the freshness window, must not bring it back.
    const replay = await startProxy((pathname, body) => (pathname === '/api/v1/plugins/entitled' ? recorded! : body));
    const replayed = await sync(device, people.researcher, replay.url);
    await replay.close();
    expect(replayed.code).toBe(1);
    expect(replayed.stderr).toMatch(/older than the one applied last/);
    expect(entries(device)).not.toContain(name);

    // Outside the freshness window: the recorded set, served to a new device allowing 1 s.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const late = await startProxy((pathname, body) => (pathname === '/api/v1/plugins/entitled' ? recorded! : body));
    const stale = await sync(newDevice(), people.researcher, late.url, ['--freshness', '1']);
    await late.close();
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/freshness window/);

    // Spawned asynchronously: this process serves Gatehouse, so it must not block while the agent runs.
    const unpinned = newDevice();
    const noKey = await runAgent([bundle, '--server', server.url, '--token', await tokenFor(server, people.researcher), '--dir', unpinned.dir, '--state', unpinned.state, '--once']);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/no organisation key is pinned/);

    const foreignKey = path.join(work, 'foreign.json');
    const { generateKeyPairSync } = await import('node:crypto');
    writeFileSync(foreignKey, JSON.stringify(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })));
    const other = newDevice();
    const wrong = await runAgent([bundle, '--server', server.url, '--token', await tokenFor(server, people.researcher), '--dir', other.dir, '--state', other.state, '--org-key', foreignKey, '--once']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/not trusted here|signature refused/);
    expect(entries(other)).toEqual([]);
  });

  it('refuses a set signed by a replaced organisation key that leaked, and a second successor that key endorses', async () => {
    const name = uniqueName('leaked-key');
    await release(name, '1.0.0');
    await entitle(admin(), name, { kind: 'user', value: people.researcher.email });
    const device = newDevice();
    // The device follows the rollover when its set arrives signed by the successor.
    const { previous } = await rotateOrgKey();
    const first = await sync(device, people.researcher);
    expect(first.code, first.stderr).toBe(0);
    expect(entries(device)).toContain(name);

    // The replaced key leaks; it is still published (its overlap has not passed).
    const row = await db().orgSigningKey.findUniqueOrThrow({ where: { kid: previous } });
    const leaked = createPrivateKey(decryptPrivateKey(row.encryptedPrivateKey, await installationSecret(), previous));
    expect((await orgKeyDocument()).keys.map((key) => key.kid)).toContain(previous);
    /** The person's real set without the plugin, signed by `kid`. */
    const resigned = (body: Buffer, kid: string, key: KeyObject) => {
      const { jws } = JSON.parse(body.toString()) as { jws: string };
      const set = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as { plugins: { name: string }[] };
      set.plugins = set.plugins.filter((plugin) => plugin.name !== name);
      return Buffer.from(JSON.stringify({ jws: signCompact(set, { kid, typ: JWS_TYPES.pluginSet }, key) }));
    };
    const signedByLeaked = await startProxy((pathname, body) => (pathname === '/api/v1/plugins/entitled' ? resigned(body, previous, leaked) : body));
    const stale = await sync(device, people.researcher, signedByLeaked.url);
    await signedByLeaked.close();
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/which this device saw replaced by/);
    expect(entries(device)).toContain(name);

    // It endorses a successor of the attacker's own, published beside the real rollover.
    const { privateKey: evilKey, publicKey } = generateKeyPairSync('ed25519');
    const evil = publicJwkOf(publicKey);
    const forgedRollover = signCompact({ previous, next: evil, iat: Math.floor(Date.now() / 1000) } satisfies KeyRollover, { kid: previous, typ: JWS_TYPES.keyRollover }, leaked);
    const forked = await startProxy((pathname, body) => {
      if (pathname === '/api/v1/plugins/entitled') return resigned(body, evil.kid!, evilKey);
      if (pathname !== '/.well-known/gatehouse/org-keys.json') return body;
      const document = JSON.parse(body.toString()) as { keys: unknown[]; rollovers: string[] };
      return Buffer.from(JSON.stringify({ keys: [...document.keys, evil], rollovers: [forgedRollover, ...document.rollovers] }));
    });
    const fork = await sync(device, people.researcher, forked.url);
    await forked.close();
    expect(fork.code).toBe(1);
    expect(fork.stderr).toMatch(/endorsed two successors/);
    expect(entries(device)).toContain(name);

    const good = await sync(device, people.researcher);
    expect(good.code, good.stderr).toBe(0);
    expect(entries(device)).toContain(name);
  });

  it("refuses another person's or another organisation's validly signed set, and another person's MCP allowlist", async () => {
    const name = uniqueName('pinned');
    await release(name, '1.0.0');
    await entitle(admin(), name, { kind: 'user', value: people.researcher.email });
    const device = newDevice();
    const first = await sync(device, people.researcher);
    expect(first.code, first.stderr).toBe(0);
    const before = entries(device);
    expect(before).toContain(name);

    // One organisation key signs every tenant's and person's set: each of these verifies, and is not this device's.
    const otherTenant = (await db().tenant.create({ data: { slug: `sync-other-${randomBytes(4).toString('hex')}`, name: 'Another organisation' } })).id;
    const outsider = await createTestUser(['member'], undefined, otherTenant);
    const documentOf = async (user: UserIdentity, pathname: string) => {
      const response = await fetch(`${server.url}${pathname}`, { headers: { authorization: `Bearer ${await tokenFor(server, user)}` } });
      expect(response.status).toBe(200);
      return Buffer.from(await response.arrayBuffer());
    };
    for (const [who, user] of [['another person', people.seller], ['another organisation', outsider]] as const) {
      const foreignSet = await documentOf(user, '/api/v1/plugins/entitled');
      const swap = await startProxy((pathname, body) => (pathname === '/api/v1/plugins/entitled' ? foreignSet : body));
      const swapped = await sync(device, people.researcher, swap.url);
      await swap.close();
      expect(swapped.code, who).toBe(1);
      expect(swapped.stderr, who).toMatch(/the signed set is for another organisation or person than the one this device applies/);
      expect(entries(device), who).toEqual(before);
    }

    // The MCP allowlist is pinned to the person of the plugin set, before any allowlist was applied.
    const foreignAllowlist = await documentOf(people.seller, '/api/v1/mcp/allowlist');
    const mcpFile = path.join(device.state, '..', 'managed-mcp.json');
    const swapAllowlist = await startProxy((pathname, body) => (pathname === '/api/v1/mcp/allowlist' ? foreignAllowlist : body));
    const mixed = await sync(device, people.researcher, swapAllowlist.url, ['--managed-mcp', mcpFile]);
    await swapAllowlist.close();
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toMatch(/MCP allowlist not applied: the allowlist is for another organisation or person/);
    expect(existsSync(mcpFile)).toBe(false);

    // The device's own documents still apply.
    const own = await sync(device, people.researcher, undefined, ['--managed-mcp', mcpFile]);
    expect(own.code, own.stderr + own.stdout).toBe(0);
    expect(existsSync(mcpFile)).toBe(true);
    expect(entries(device)).toEqual(before);
  });

  it("pins the first set only when it is the person of the device's own token", async () => {
    const name = uniqueName('first-use');
    await release(name, '1.0.0');
    await entitle(admin(), name, { kind: 'user', value: people.seller.email });
    const sellerSet = Buffer.from(await (await fetch(`${server.url}/api/v1/plugins/entitled`, { headers: { authorization: `Bearer ${await tokenFor(server, people.seller)}` } })).arrayBuffer());
    const swap = await startProxy((pathname, body) => (pathname === '/api/v1/plugins/entitled' ? sellerSet : body));
    const device = newDevice();
    const swapped = await sync(device, people.researcher, swap.url);
    await swap.close();
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toContain(`the signed set is for person ${people.seller.userId} in organisation ${people.seller.tenantId}, not for this device's token (person ${people.researcher.userId}`);
    expect(entries(device).filter((entry) => !entry.startsWith('.'))).toEqual([]);
    expect(JSON.parse(readFileSync(path.join(device.state, 'state.json'), 'utf8')).subject ?? null).toBeNull();
    // A token that is no JWT names nobody: nothing is pinned on its word.
    const opaque = await startAgent(newDevice(), 'not-a-jwt').done;
    expect(opaque.code).toBe(1);
    // The device's own set still pins on first use.
    const own = await sync(device, people.researcher);
    expect(own.code, own.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(device.state, 'state.json'), 'utf8')).subject).toEqual({ tenant: people.researcher.tenantId, sub: people.researcher.userId });
  });

  it('hands a device to someone else with reset-subject, keeping what it installed as its own', async () => {
    const shared = uniqueName('handover-shared');
    const mine = uniqueName('handover-mine');
    await release(shared, '1.0.0');
    await release(mine, '1.0.0');
    for (const user of [people.researcher, people.seller]) await entitle(admin(), shared, { kind: 'user', value: user.email });
    await entitle(admin(), mine, { kind: 'user', value: people.researcher.email });
    const device = newDevice();
    const mcpFile = path.join(device.state, '..', 'managed-mcp.json');
    const first = await sync(device, people.researcher, undefined, ['--managed-mcp', mcpFile]);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(entries(device)).toEqual(expect.arrayContaining([shared, mine]));

    // Someone else signs in: refused, naming whom the device is pinned to and how to hand it over.
    const refused = await sync(device, people.seller, undefined, ['--managed-mcp', mcpFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`this device applies the documents of person ${people.researcher.userId} in organisation ${people.researcher.tenantId}`);
    expect(refused.stderr).toContain(`gatehouse-sync reset-subject --state ${device.state}`);

    const wrongState = await runAgent([bundle, 'reset-subject', '--state', path.join(device.state, 'elsewhere')]);
    expect(wrongState.code).toBe(1);
    expect(wrongState.stderr).toContain('nothing to reset');
    const reset = await runAgent([bundle, 'reset-subject', '--state', device.state]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain(`no longer pinned to person ${people.researcher.userId}`);
    const state = JSON.parse(readFileSync(path.join(device.state, 'state.json'), 'utf8')) as { subject: unknown; installed: Record<string, unknown>; mcp: { fileSha256: string | null } };
    expect(state.subject).toBeNull();
    expect(Object.keys(state.installed)).toEqual(expect.arrayContaining([shared, mine]));
    expect(state.mcp.fileSha256).toMatch(/^[0-9a-f]{64}$/);

    // The next person's sync replaces gatehouse-sync's own plugins and file, not "someone else's".
    const next = await sync(device, people.seller, undefined, ['--managed-mcp', mcpFile]);
    expect(next.code, next.stderr + next.stdout).toBe(0);
    expect(next.stdout).not.toMatch(/not written by gatehouse-sync/);
    expect(next.stdout).toContain(`removed ${mine}`);
    expect(entries(device)).toContain(shared);
    expect(entries(device)).not.toContain(mine);
    expect(JSON.parse(readFileSync(path.join(device.state, 'state.json'), 'utf8')).subject).toEqual({ tenant: people.seller.tenantId, sub: people.seller.userId });
  });

  it('keeps the previous good set when killed with -9 mid-sync, and recovers on the next run', async () => {
    const name = uniqueName('killed');
    await release(name, '1.0.0');
    await entitle(admin(), name, { kind: 'user', value: people.researcher.email });
    const device = newDevice();
    expect((await sync(device, people.researcher)).code).toBe(0);
    const before = entries(device);
    await release(name, '2.0.0');

    let stalled!: () => void;
    const reachedArchive = new Promise<void>((resolve) => (stalled = resolve));
    const staller = await startProxy((pathname, body) => {
      if (!pathname.startsWith('/api/v1/plugins/archive/')) return body;
      stalled();
      return 'stall';
    });
    const run = startAgent(device, await tokenFor(server, people.researcher), staller.url);
    await reachedArchive;
    run.child.kill('SIGKILL');
    await run.done;
    await staller.close();
    expect(entries(device).filter((entry) => !entry.startsWith('.'))).toEqual(before);
    expect(versionOnDisk(device, name)).toBe('1.0.0');

    const next = await sync(device, people.researcher);
    expect(next.code, next.stderr).toBe(0);
    expect(versionOnDisk(device, name)).toBe('2.0.0');
    // The staging folder the killed run left is gone.
    expect(entries(device)).toEqual(before);
  });

  it('writes plugins the real `claude plugin validate` accepts', async (context) => {
    const claude = findClaudeCode();
    if ('skip' in claude) {
      console.log(`skipping claude plugin validate: ${claude.skip}`);
      context.skip();
      return;
    }
    const name = uniqueName('validated');
    await release(name, '1.0.0', { withHooks: true, withMcp: true });
    await entitle(admin(), name, { kind: 'user', value: people.researcher.email });
    const device = newDevice();
    expect((await sync(device, people.researcher)).code).toBe(0);
    const home = mkdtempSync(path.join(work, 'home-'));
    for (const plugin of entries(device)) {
      const result = await runClaudeCode(['plugin', 'validate', path.join(device.dir, plugin)], { home, env: { CLAUDE_CONFIG_DIR: path.join(home, '.claude') }, timeoutMs: 120_000 });
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/Validation passed/);
    }
  }, 600_000);
});

function readTree(root: string, relative = ''): { path: string; content: Buffer }[] {
  return readdirSync(path.join(root, relative), { withFileTypes: true }).flatMap((entry) => {
    const name = relative ? `${relative}/${entry.name}` : entry.name;
    return entry.isDirectory() ? readTree(root, name) : [{ path: name, content: readFileSync(path.join(root, name)) }];
  });
}
