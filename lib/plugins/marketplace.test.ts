import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveVersion, entitle, installForSelf } from './lifecycle';
import { desktopMarketplaceEntry, marketplaceName } from './marketplace-manifest';
import { listMarketplace, pluginPage, ratePlugin, reviewQueue } from './marketplace';
import { actorOf, publishSample, startPluginServer, tokenFor, uniqueName, users, type GatewayHarness } from './testing/harness';

let server: GatewayHarness;
let people: Awaited<ReturnType<typeof users>>;

beforeAll(async () => {
  server = await startPluginServer('plugins-marketplace');
  people = await users(randomBytes(3).toString('hex'));
});
afterAll(async () => {
  await server?.close();
});

describe('marketplace', () => {
  it('serves a per-user marketplace.json of the entitled set, stable enough to pin', async () => {
    const name = uniqueName('market');
    const published = await publishSample(actorOf(people.author), { name, version: '1.0.0' });
    await approveVersion(actorOf(people.admin), published.versionId, 'ok');
    await entitle(actorOf(people.admin), name, { kind: 'department', value: people.research });
    const get = async (user: typeof people.researcher) => fetch(`${server.url}/marketplace.json`, { headers: { authorization: `Bearer ${await tokenFor(server, user)}` } });
    const response = await get(people.researcher);
    expect(response.status).toBe(200);
    const body = await response.text();
    const document = JSON.parse(body) as { name: string; plugins: { name: string; version: string; source: { source: string; url: string; sha256: string } }[] };
    const entry = document.plugins.find((plugin) => plugin.name === name)!;
    expect(entry).toMatchObject({ version: '1.0.0', source: { source: 'archive', url: `${server.url}/api/v1/plugins/archive/${name}/1.0.0.zip`, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    // The archive behind the URL is the one the manifest pins.
    const archive = Buffer.from(await (await fetch(entry.source.url, { headers: { authorization: `Bearer ${await tokenFor(server, people.researcher)}` } })).arrayBuffer());
    expect(createHash('sha256').update(archive).digest('hex')).toBe(entry.source.sha256);
    expect(await (await get(people.researcher)).text()).toBe(body);
    expect(JSON.parse(await (await get(people.seller)).text()).plugins.map((plugin: { name: string }) => plugin.name)).not.toContain(name);
    expect((await fetch(`${server.url}/marketplace.json`)).status).toBe(401);
    // A malformed escape in an archive path is an unknown archive, not a server failure.
    const malformed = await fetch(`${server.url}/api/v1/plugins/archive/%E0%A4%A/1.0.0.zip`, { headers: { authorization: `Bearer ${await tokenFor(server, people.researcher)}` } });
    expect(malformed.status).toBe(404);

    const sha = createHash('sha256').update(body).digest('hex');
    expect(desktopMarketplaceEntry({ origin: server.url, tenantSlug: 'acme', preference: 'required', manifestSha256: sha })).toEqual({
      source: 'url',
      url: `${server.url}/marketplace.json`,
      credentialKind: 'inferenceCredential',
      installationPreference: 'required',
      expectedName: marketplaceName('acme'),
      manifestSha256: sha,
    });
    expect(() => desktopMarketplaceEntry({ origin: server.url, tenantSlug: 'acme', preference: 'auto_install' })).toThrow(/pinning/);
  });

  it('lists, searches and sorts; one editable review per user; the queue shows the diff', async () => {
    const name = uniqueName('rated');
    const author = actorOf(people.author);
    const first = await publishSample(author, { name, version: '1.0.0', description: 'Finds rated things' });
    await approveVersion(actorOf(people.admin), first.versionId, 'ok');
    await installForSelf(actorOf(people.seller), name);
    await ratePlugin(actorOf(people.seller), name, 2, 'meh');
    await ratePlugin(actorOf(people.seller), name, 5, 'better now');
    await expect(ratePlugin(author, name, 5, 'mine')).rejects.toThrow(/their own plugin/);
    const draft = uniqueName('draft');
    await publishSample(author, { name: draft, version: '1.0.0' });
    await expect(ratePlugin(actorOf(people.seller), draft, 1, 'probing')).rejects.toThrow(`no plugin named ${draft}`);
    const cards = await listMarketplace(people.author.tenantId, { q: 'finds rated', sort: 'rating' });
    expect(cards.find((card) => card.name === name)).toMatchObject({ rating: 5, ratings: 1, installs: 1, version: '1.0.0' });
    const page = await pluginPage(actorOf(people.seller), name);
    expect(page).toMatchObject({ entitledToViewer: true, viewerRating: { stars: 5, body: 'better now' }, current: { signature: { status: 'verified' } } });

    const second = await publishSample(author, { name, version: '1.1.0', withHooks: true, withMcp: true });
    const queue = await reviewQueue(actorOf(people.admin));
    const item = queue.versions.find((entry) => entry.versionId === second.versionId)!;
    expect(item.previous).toBe('1.0.0');
    expect(item.hooksAdded.map((hook) => hook.event)).toEqual(['PreToolUse']);
    expect(item.mcpServersAdded.map((server_) => server_.name)).toEqual(['acme-search']);
    expect(item.files.filter((file) => file.change === 'added').map((file) => file.path)).toEqual(['.mcp.json', 'hooks/check.sh', 'hooks/hooks.json']);
    expect(item.files[0]!.runsCode).toBe(true);
    // A member has no queue.
    expect((await reviewQueue(actorOf(people.seller))).versions).toEqual([]);
  });
});
