import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { orgKeyDocument, trustedKeysFrom } from '@/lib/signing';
import { ensureDepartment } from '@/lib/users/tenant';
import { startGateway, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { AllowlistResponse, McpManifest } from './documents';
import { AllowlistVerificationError, verifyAllowlist, verifyManifest, type VerifiedAllowlist } from './verify';
import { registerServer, revokeServer, setScopes, type ServerFixture } from './testing/registry-fixtures';

/**
 * GET /api/v1/mcp/allowlist on a live data plane, verified as a device verifies it: who gets
 * which server, and how registering, scoping and revoking reach the next poll.
 */

const CONFIG = `
providers:
  anthropic: { type: anthropic, base_url: 'http://127.0.0.1:9' }
models:
  claude-test:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: 0, output_per_mtok_microdollars: 0 }
`;

let server: GatewayHarness;
let tenantId: string;
let payer: UserIdentity;
let marketer: UserIdentity;
let accountant: UserIdentity;
let departments: { payments: string; marketing: string };
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

let stripe: ServerFixture;
let wiki: ServerFixture;
let localGit: ServerFixture;

beforeAll(async () => {
  server = await startGateway(CONFIG, 'mcp-allowlist');
  tenantId = (await db().tenant.create({ data: { slug: `mcp-allowlist-${randomBytes(4).toString('hex')}`, name: 'MCP allowlist tests' } })).id;
  departments = { payments: (await ensureDepartment(tenantId, 'Payments')).id, marketing: (await ensureDepartment(tenantId, 'Marketing')).id };
  payer = await createTestUser(['member'], 'Payments', tenantId);
  marketer = await createTestUser(['member'], 'Marketing', tenantId);
  accountant = await createTestUser(['finance'], 'Payments', tenantId);
  const owner = payer.userId;
  stripe = await registerServer({ tenantId, ownerId: owner, name: 'stripe', url: 'https://mcp.stripe.example/mcp', scopes: [{ kind: 'department', subject: departments.payments }], tools: ['create_refund', 'list_charges'] });
  wiki = await registerServer({ tenantId, ownerId: owner, name: 'wiki', url: 'https://wiki.corp.example/mcp', scopes: [{ kind: 'everyone', subject: '' }], tools: ['search'] });
  localGit = await registerServer({ tenantId, ownerId: owner, name: 'local-git', command: 'uvx', args: ['mcp-server-git'], env: { GIT_PAGER: 'cat' }, scopes: [{ kind: 'everyone', subject: '' }], tools: ['git_log'] });
}, 120_000);

afterAll(async () => {
  await server?.close();
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
    expect(JSON.stringify(forPayer)).not.toContain('mcp.stripe.example');
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

  it('moves a server between two departments when its scope changes', async () => {
    const before = { payer: await verifiedFor(payer), marketer: await verifiedFor(marketer) };
    await setScopes(stripe, [{ kind: 'department', subject: departments.marketing }]);
    const after = { payer: await verifiedFor(payer, before.payer), marketer: await verifiedFor(marketer, before.marketer) };
    expect(after.payer.seq).toBeGreaterThan(before.payer.seq);
    expect(namesOf(after.payer)).toEqual(['local-git', 'wiki']);
    expect(namesOf(after.marketer)).toEqual(['local-git', 'stripe', 'wiki']);
    await setScopes(stripe, [{ kind: 'department', subject: departments.payments }]);
    expect(namesOf(await verifiedFor(payer, after.payer))).toEqual(['local-git', 'stripe', 'wiki']);
  });

  it('takes a revoked server out of the next allowlist, lists it as revoked, and a device refuses the old one', async () => {
    const held = await fetchAllowlist(payer);
    const keys = await trusted();
    const applied = verifyAllowlist(held, { trusted: keys });
    const heldStripe = held.manifests.find((jws) => verifyManifest(jws, { trusted: keys, revocations: applied.revocations }).server.name === 'stripe')!;

    await revokeServer(stripe, 'leaked credentials');
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
  });

  it('re-signs when the sequence moves and serves the cached documents while it does not', async () => {
    const first = await fetchAllowlist(marketer);
    const again = await fetchAllowlist(marketer);
    expect(again).toEqual(first);
    await registerServer({ tenantId, ownerId: payer.userId, name: `docs-${randomUUID().slice(0, 6)}`, url: 'https://docs.corp.example/mcp', scopes: [{ kind: 'everyone', subject: '' }], tools: ['read_doc'] });
    const changed = await fetchAllowlist(marketer);
    expect(changed.seq).toBeGreaterThan(first.seq);
    expect(changed.manifests.length).toBe(first.manifests.length + 1);
    const manifests = verifyAllowlist(changed, { trusted: await trusted(), last: verifyAllowlist(first, { trusted: await trusted() }) }).servers.map((entry) => entry.manifest as McpManifest);
    expect(manifests.every((manifest) => manifest.seq === changed.seq)).toBe(true);
  });
});
