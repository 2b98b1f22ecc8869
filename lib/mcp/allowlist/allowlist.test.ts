import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { orgKeyDocument, trustedKeysFrom } from '@/lib/signing';
import { tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { AllowlistResponse, McpManifest } from './documents';
import { startAllowlistFixture, type AllowlistFixture } from './testing/fixture';
import { AllowlistVerificationError, verifyAllowlist, verifyManifest, type VerifiedAllowlist } from './verify';
import { approveVersion, checkServer, registerServer, revokeServer, updateServerScope, type RegisteredServer, type RegistryActor } from '@/lib/mcp/registry';
import { startFakeUpstream, type FakeUpstream } from '@/lib/mcp/registry/testing/upstream-server';
import { claudeCodeManagedSettings } from '@/lib/mdm/claude-code';
import { rolloutContext } from '@/lib/mdm/context';
import { desktopPolicyValues } from '@/lib/mdm/profile';
import { createToolPolicyRule, deleteToolPolicyRule } from '@/lib/tool-policy';

/**
 * GET /api/v1/mcp/allowlist on a live data plane, verified as a device verifies it: who gets
 * which server, and how registering, scoping and revoking reach the next poll.
 */

let fixture: AllowlistFixture;
let server: GatewayHarness;
let upstream: FakeUpstream;
let admin: RegistryActor;
let tenantId: string;
let payer: UserIdentity;
let marketer: UserIdentity;
let accountant: UserIdentity;
const tokens = new Map<string, string>();

async function tokenOf(user: UserIdentity): Promise<string> {
  if (!tokens.has(user.userId)) tokens.set(user.userId, await tokenFor(server, user));
  return tokens.get(user.userId)!;
}

async function fetchAllowlist(user: UserIdentity): Promise<AllowlistResponse> {
  const response = await fetch(`${server.url}/api/v1/mcp/allowlist`, { headers: { authorization: `Bearer ${await tokenOf(user)}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as AllowlistResponse;
}

async function trusted() {
  return trustedKeysFrom({ keys: (await orgKeyDocument()).keys });
}

async function verifiedFor(user: UserIdentity, last: { seq: number; iat: number } | null = null): Promise<VerifiedAllowlist> {
  return verifyAllowlist(await fetchAllowlist(user), { trusted: await trusted(), last });
}

const namesOf = (verified: VerifiedAllowlist) => verified.servers.map((entry) => entry.manifest.server.name).sort();

let stripe: RegisteredServer;

beforeAll(async () => {
  fixture = await startAllowlistFixture({
    name: 'mcp-allowlist',
    title: 'MCP allowlist tests',
    departments: ['Payments', 'Marketing'],
    tools: [
      { name: 'create_refund', description: 'Refund a charge', args: ['charge'] },
      { name: 'list_charges', description: 'List charges', args: [] },
    ],
  });
  ({ server, upstream, admin, tenantId } = fixture);
  payer = await createTestUser(['member'], 'Payments', tenantId);
  marketer = await createTestUser(['member'], 'Marketing', tenantId);
  accountant = await createTestUser(['finance'], 'Payments', tenantId);
  stripe = await registerServer(admin, { name: 'stripe', transport: 'streamable_http', url: upstream.mcpUrl, allowPrivateNetwork: true, scope: [{ kind: 'department', value: 'payments' }] });
  await registerServer(admin, { name: 'wiki', transport: 'sse', url: upstream.sseUrl, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
  await registerServer(admin, { name: 'local-git', transport: 'stdio', command: 'uvx', args: ['mcp-server-git'], env: { GIT_PAGER: 'cat' }, scope: [{ kind: 'everyone' }], tools: [{ name: 'git_log', inputSchema: { type: 'object' } }] });
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

describe('GET /api/v1/mcp/allowlist', { timeout: 60_000 }, () => {
  it('gives each person the servers in their scope, signed, pointing at the proxy', async () => {
    const forPayer = await verifiedFor(payer);
    const forMarketer = await verifiedFor(marketer);
    expect(namesOf(forPayer)).toEqual(['local-git', 'stripe', 'wiki']);
    expect(namesOf(forMarketer)).toEqual(['local-git', 'wiki']);

    const stripeManifest = forPayer.servers.find((entry) => entry.manifest.server.name === 'stripe')!.manifest;
    expect(stripeManifest).toMatchObject({ transport: 'http', url: `${server.url}/mcp/servers/stripe`, tenant: tenantId, server: { id: stripe.id }, version: 1 });
    expect(stripeManifest.tools.map((tool) => tool.name)).toEqual(['create_refund', 'list_charges']);
    expect(stripeManifest.tools.every((tool) => /^[0-9a-f]{64}$/.test(tool.schemaHash))).toBe(true);
    // The upstream URL is never what a client is told to connect to.
    expect(JSON.stringify(forPayer)).not.toContain(upstream.origin);
    const git = forMarketer.servers.find((entry) => entry.manifest.server.name === 'local-git')!.manifest;
    expect(git).toMatchObject({ transport: 'stdio', command: 'uvx', args: ['mcp-server-git'], env: { GIT_PAGER: 'cat' } });
    expect(forPayer.allowlist.sub).toBe(payer.userId);
  });

  it('serves the same servers as a .mcp.json', async () => {
    const response = await fetch(`${server.url}/api/v1/mcp/mcp.json`, { headers: { authorization: `Bearer ${await tokenOf(marketer)}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      mcpServers: {
        'local-git': { type: 'stdio', command: 'uvx', args: ['mcp-server-git'], env: { GIT_PAGER: 'cat' } },
        wiki: { type: 'http', url: `${server.url}/mcp/servers/wiki` },
      },
    });
  });

  it('refuses a caller whose roles do not grant mcp.use, and one without a token', async () => {
    const refused = await fetch(`${server.url}/api/v1/mcp/allowlist`, { headers: { authorization: `Bearer ${await tokenOf(accountant)}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/mcp\.use/);
    expect((await fetch(`${server.url}/api/v1/mcp/allowlist`)).status).toBe(401);
  });

  it("carries each person's tool policy, and a rule change reaches the next allowlist", async () => {
    const before = await verifiedFor(payer);
    expect(before.servers.find((entry) => entry.manifest.server.name === 'stripe')!.toolPolicy).toEqual({ create_refund: 'allow', list_charges: 'allow' });
    const block = await createToolPolicyRule(admin, { server: 'stripe', tool: 'create_*', principalKind: 'department', principal: 'payments', decision: 'block' });
    const ask = await createToolPolicyRule(admin, { server: 'stripe', tool: 'list_charges', principalKind: 'everyone', decision: 'ask' });
    try {
      const after = await verifiedFor(payer, before);
      expect(after.seq).toBeGreaterThan(before.seq);
      expect(after.servers.find((entry) => entry.manifest.server.name === 'stripe')!.toolPolicy).toEqual({ create_refund: 'blocked', list_charges: 'ask' });
    } finally {
      await deleteToolPolicyRule(admin, block.id);
      await deleteToolPolicyRule(admin, ask.id);
    }
  });

  it('asks for a tool a time window decides: the signed toolPolicy outlives the moment it is issued', async () => {
    const before = await verifiedFor(payer);
    // Refunds blocked on weekday office hours only: whether the allowlist is issued inside the
    // window or outside it, a device keeping it past the window's edge must not hold `allow` or `blocked`.
    const window = await createToolPolicyRule(admin, {
      server: 'stripe',
      tool: 'create_refund',
      principalKind: 'department',
      principal: 'payments',
      decision: 'block',
      conditions: { timeWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' } },
    });
    try {
      const after = await verifiedFor(payer, before);
      expect(after.servers.find((entry) => entry.manifest.server.name === 'stripe')!.toolPolicy).toEqual({ create_refund: 'ask', list_charges: 'allow' });
    } finally {
      await deleteToolPolicyRule(admin, window.id);
    }
  });

  it("delivers the person's allowlist to Claude Code (/managed/settings) and Desktop (bootstrap), and the organisation's to MDM files", async () => {
    const proxy = (name: string) => `${server.url}/mcp/servers/${name}`;
    const settingsOf = async (user: UserIdentity) => {
      const response = await fetch(`${server.url}/managed/settings`, { headers: { authorization: `Bearer ${await tokenOf(user)}` } });
      expect(response.status).toBe(200);
      return ((await response.json()) as { settings: Record<string, unknown> }).settings;
    };
    const payerSettings = await settingsOf(payer);
    expect(payerSettings.managedMcpServers).toEqual({ stripe: { type: 'http', url: proxy('stripe') }, wiki: { type: 'http', url: proxy('wiki') } });
    expect(payerSettings.allowedMcpServers).toEqual(expect.arrayContaining([{ serverUrl: proxy('stripe') }, { serverUrl: proxy('wiki') }, { serverCommand: ['uvx', 'mcp-server-git'] }]));
    // Nobody reaches a registered upstream around the proxy.
    expect(payerSettings.deniedMcpServers).toContainEqual({ serverUrl: `${upstream.origin}/*` });
    const marketerSettings = await settingsOf(marketer);
    expect(Object.keys(marketerSettings.managedMcpServers as object)).toEqual(['wiki']);
    expect(marketerSettings.allowedMcpServers).not.toContainEqual({ serverUrl: proxy('stripe') });

    const bootstrap = await fetch(`${server.url}/api/v1/bootstrap`, { headers: { authorization: `Bearer ${await tokenOf(payer)}` } });
    const overlay = (await bootstrap.json()) as { managedMcpServers: { name: string; url?: string; transport: string; oauth?: boolean; command?: string }[] };
    const desktop = Object.fromEntries(overlay.managedMcpServers.map((entry) => [entry.name, entry]));
    expect(desktop.stripe).toEqual({ name: 'stripe', transport: 'http', url: proxy('stripe'), oauth: true, toolPolicy: { create_refund: 'allow', list_charges: 'allow' } });
    expect(desktop['local-git']).toMatchObject({ transport: 'stdio', command: 'uvx', args: ['mcp-server-git'] });

    // Organisation-wide files hold only what is the same for everyone: servers scoped to everyone.
    const context = await rolloutContext(tenantId, { publicUrl: server.url });
    const profileServers = (desktopPolicyValues(context).managedMcpServers as { name: string }[]).map((entry) => entry.name);
    expect(profileServers).toContain('wiki');
    expect(profileServers).not.toContain('stripe');
    const file = claudeCodeManagedSettings(context);
    expect(Object.keys(file.managedMcpServers as object)).toEqual(['wiki']);
    // Any of the organisation's servers may be added by hand (the proxy checks the person's scope).
    expect(file.allowedMcpServers).toContainEqual({ serverUrl: proxy('stripe') });
  });

  it('moves a server between two departments when its scope changes', async () => {
    const before = { payer: await verifiedFor(payer), marketer: await verifiedFor(marketer) };
    await updateServerScope(admin, 'stripe', [{ kind: 'department', value: 'marketing' }]);
    const after = { payer: await verifiedFor(payer, before.payer), marketer: await verifiedFor(marketer, before.marketer) };
    expect(after.payer.seq).toBeGreaterThan(before.payer.seq);
    expect(namesOf(after.payer)).toEqual(['local-git', 'wiki']);
    expect(namesOf(after.marketer)).toEqual(['local-git', 'stripe', 'wiki']);
    await updateServerScope(admin, 'stripe', [{ kind: 'department', value: 'payments' }]);
    expect(namesOf(await verifiedFor(payer, after.payer))).toEqual(['local-git', 'stripe', 'wiki']);
  });

  it('takes a revoked server out of the next allowlist, lists it as revoked, and a device refuses the old one', async () => {
    const held = await fetchAllowlist(payer);
    const keys = await trusted();
    const applied = verifyAllowlist(held, { trusted: keys });
    const heldStripe = held.manifests.find((jws) => verifyManifest(jws, { trusted: keys, revocations: applied.revocations }).server.name === 'stripe')!;

    await revokeServer(admin, 'stripe', 'leaked credentials');
    const next = verifyAllowlist(await fetchAllowlist(payer), { trusted: keys, last: applied });
    expect(next.seq).toBeGreaterThan(applied.seq);
    expect(namesOf(next)).toEqual(['local-git', 'wiki']);
    expect(next.revocations.servers).toContainEqual({ id: stripe.id, name: 'stripe', versions: 'all', reason: 'leaked credentials' });

    // The device now holds the newer allowlist: the one from before the revocation is a replay.
    const replay = (() => {
      try {
        verifyAllowlist(held, { trusted: keys, last: next });
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(replay).toBeInstanceOf(AllowlistVerificationError);
    expect((replay as AllowlistVerificationError).code).toBe('replayed');
    // And the old stripe manifest on its own is refused against the new revocation list.
    expect(() => verifyManifest(heldStripe, { trusted: keys, revocations: next.revocations })).toThrow(/revoked/);
    // Claude Code's next settings poll: no longer delivered, and denied if added by hand.
    const settings = ((await (await fetch(`${server.url}/managed/settings`, { headers: { authorization: `Bearer ${await tokenOf(payer)}` } })).json()) as { settings: Record<string, unknown> }).settings;
    expect(Object.keys(settings.managedMcpServers as object)).toEqual(['wiki']);
    expect(settings.deniedMcpServers).toContainEqual({ serverUrl: `${server.url}/mcp/servers/stripe` });
  });

  it('holds tool drift out of the allowlist until approved, then revokes the replaced version', async () => {
    const drifting = await startFakeUpstream([{ name: 'open_ticket', description: 'Open a ticket', args: ['title'] }]);
    try {
      await registerServer(admin, { name: 'tickets', transport: 'streamable_http', url: drifting.mcpUrl, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
      const keys = await trusted();
      const before = verifyAllowlist(await fetchAllowlist(marketer), { trusted: keys });
      const heldV1 = (await fetchAllowlist(marketer)).manifests.find((jws) => verifyManifest(jws, { trusted: keys, revocations: before.revocations }).server.name === 'tickets')!;

      drifting.setTools([{ name: 'open_ticket', description: 'Open a ticket', args: ['title'] }, { name: 'close_all', description: 'Close every ticket', args: [] }]);
      expect((await checkServer(admin, 'tickets')).result).toBe('drift');
      const pending = verifyAllowlist(await fetchAllowlist(marketer), { trusted: keys, last: before });
      const held = pending.servers.find((entry) => entry.manifest.server.name === 'tickets')!.manifest;
      expect([held.version, held.tools.map((tool) => tool.name)]).toEqual([1, ['open_ticket']]);

      await approveVersion(admin, 'tickets');
      const approved = verifyAllowlist(await fetchAllowlist(marketer), { trusted: keys, last: pending });
      const current = approved.servers.find((entry) => entry.manifest.server.name === 'tickets')!.manifest;
      expect([current.version, current.tools.map((tool) => tool.name)]).toEqual([2, ['close_all', 'open_ticket']]);
      expect(approved.revocations.servers).toContainEqual(expect.objectContaining({ name: 'tickets', versions: [1] }));
      expect(() => verifyManifest(heldV1, { trusted: keys, revocations: approved.revocations })).toThrow(/tickets version 1 is revoked/);
    } finally {
      await drifting.close();
    }
  });

  it('re-signs when the sequence moves and serves the cached documents while it does not', async () => {
    const first = await fetchAllowlist(marketer);
    const again = await fetchAllowlist(marketer);
    expect(again).toEqual(first);
    await registerServer(admin, { name: `docs-${randomUUID().slice(0, 6)}`, transport: 'streamable_http', url: upstream.mcpUrl, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    const changed = await fetchAllowlist(marketer);
    expect(changed.seq).toBeGreaterThan(first.seq);
    expect(changed.manifests.length).toBe(first.manifests.length + 1);
    const manifests = verifyAllowlist(changed, { trusted: await trusted(), last: verifyAllowlist(first, { trusted: await trusted() }) }).servers.map((entry) => entry.manifest as McpManifest);
    expect(manifests.every((manifest) => manifest.seq === changed.seq)).toBe(true);
  });
});
