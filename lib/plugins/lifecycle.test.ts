import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '@/lib/db/client';
import { ForbiddenError } from '@/lib/rbac';
import { JWS_TYPES, followRollovers, listOrgKeys, orgKeyDocument, RETIRED_KEY_OVERLAP_MS, rotateOrgKey, trustedKeysFrom, verifyCompact } from '@/lib/signing';
import { UserInputError } from '@/lib/users/tenant';
import { treeDigest } from './digest';
import type { EntitledSet } from './entitled';
import { approveVersion, entitle, forkVersion, installForSelf, rejectVersion, revokePlugin, withdrawVersion, type SignedVersion } from './lifecycle';
import { actorOf, publishSample, startPluginServer, tokenFor, uniqueName, users, type GatewayHarness } from './testing/harness';
import { checkFileSet } from './paths';
import { readZip } from './zip';

let server: GatewayHarness;
let people: Awaited<ReturnType<typeof users>>;

beforeAll(async () => {
  server = await startPluginServer('plugins-lifecycle');
  people = await users(randomBytes(3).toString('hex'));
});
afterAll(async () => {
  await server?.close();
});

async function entitledSet(user: Parameters<typeof tokenFor>[1]): Promise<EntitledSet> {
  const response = await fetch(`${server.url}/api/v1/plugins/entitled`, { headers: { authorization: `Bearer ${await tokenFor(server, user)}` } });
  expect(response.status).toBe(200);
  const { jws } = (await response.json()) as { jws: string };
  const keys = (await (await fetch(`${server.url}/.well-known/gatehouse/org-keys.json`)).json()) as Parameters<typeof trustedKeysFrom>[0];
  return verifyCompact<EntitledSet>(jws, trustedKeysFrom(keys), JWS_TYPES.pluginSet).payload;
}

async function eventsOf(traceId: string): Promise<{ action: string; outcome: string }[]> {
  const { rows } = await pool().query<{ event: { action: string; outcome: string } }>('SELECT event FROM audit_events WHERE trace_id = $1 ORDER BY seq', [traceId]);
  return rows.map((row) => row.event);
}

describe('org plugins: publish, review, sign, entitle', () => {
  it('takes a draft, lets another reviewer approve and sign it, and serves it to entitled users only', async () => {
    const name = uniqueName('acme-tools');
    const author = actorOf(people.author);
    const draft = await publishSample(author, { name, version: '1.0.0', withHooks: true, changelog: 'First version' });
    expect(await eventsOf(draft.traceId)).toEqual([expect.objectContaining({ action: 'plugin.publish', outcome: 'success' })]);

    // The author cannot approve their own version; a member cannot approve at all.
    await expect(approveVersion(author, draft.versionId, 'mine')).rejects.toThrow(ForbiddenError);
    await expect(approveVersion(actorOf(people.researcher), draft.versionId, 'ok')).rejects.toThrow(ForbiddenError);
    const admin = actorOf(people.admin);
    await entitle(admin, name, { kind: 'department', value: people.research });
    expect((await entitledSet(people.researcher)).plugins.map((plugin) => plugin.name)).not.toContain(name);

    const approved = await approveVersion(admin, draft.versionId, 'Looks right; the hook only checks Bash');
    expect((await eventsOf(approved.traceId)).map((event) => event.action)).toEqual(['plugin.approve', 'plugin.sign']);

    const set = await entitledSet(people.researcher);
    const entry = set.plugins.find((plugin) => plugin.name === name)!;
    expect(entry).toMatchObject({ version: '1.0.0', digest: draft && expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await entitledSet(people.seller)).plugins.map((plugin) => plugin.name)).not.toContain(name);

    // The version signature verifies with the published keys and names the digest.
    const keys = trustedKeysFrom(await orgKeyDocument());
    const signed = verifyCompact<SignedVersion>(entry.signature, keys, JWS_TYPES.pluginVersion).payload;
    expect(signed).toMatchObject({ plugin: name, version: '1.0.0', digest: entry.digest, archiveSha256: entry.archiveSha256, approvedBy: people.admin.email });
    expect(() => verifyCompact(entry.signature, keys, JWS_TYPES.pluginSet)).toThrow(/expected a gatehouse-plugin-set/);

    // The archive: only for the entitled, its sha256 and file-tree digest as signed.
    const researcherToken = await tokenFor(server, people.researcher);
    const zip = Buffer.from(await (await fetch(`${server.url}${entry.archive}`, { headers: { authorization: `Bearer ${researcherToken}` } })).arrayBuffer());
    expect(createHash('sha256').update(zip).digest('hex')).toBe(entry.archiveSha256);
    expect(treeDigest(checkFileSet(readZip(zip)))).toBe(entry.digest);
    const refused = await fetch(`${server.url}${entry.archive}`, { headers: { authorization: `Bearer ${await tokenFor(server, people.seller)}` } });
    expect(refused.status).toBe(404);
  });

  it('keeps versions immutable, takes only higher versions, withdraws and revokes', async () => {
    const name = uniqueName('immutable');
    const author = actorOf(people.author);
    const admin = actorOf(people.admin);
    const first = await publishSample(author, { name, version: '1.0.0' });
    await approveVersion(admin, first.versionId, 'ok');
    await expect(publishSample(author, { name, version: '1.0.0', description: 'changed' })).rejects.toThrow(UserInputError);
    await expect(publishSample(author, { name, version: '0.9.0' })).rejects.toThrow(/higher version/);
    // The database itself refuses to change what a version is.
    await expect(pool().query("UPDATE plugin_versions SET digest = 'x' WHERE id = $1", [first.versionId])).rejects.toThrow(/permission denied/);
    await expect(pool().query('DELETE FROM plugin_version_files WHERE version_id = $1', [first.versionId])).rejects.toThrow(/permission denied/);

    const second = await publishSample(author, { name, version: '1.1.0' });
    await rejectVersion(admin, second.versionId, 'The description is wrong');
    await expect(rejectVersion(admin, second.versionId, 'again')).rejects.toThrow(/rejected, not waiting/);
    const third = await publishSample(author, { name, version: '1.2.0' });
    await approveVersion(admin, third.versionId, 'ok');
    await entitle(admin, name, { kind: 'user', value: people.seller.email });
    expect((await entitledSet(people.seller)).plugins.find((plugin) => plugin.name === name)?.version).toBe('1.2.0');

    const withdrawn = await withdrawVersion(admin, name, '1.2.0', 'Leaks tokens in logs');
    expect(await eventsOf(withdrawn.traceId)).toEqual([expect.objectContaining({ action: 'plugin.withdraw' })]);
    expect((await entitledSet(people.seller)).plugins.find((plugin) => plugin.name === name)?.version).toBe('1.0.0');
    await revokePlugin(admin, name, 'Replaced by another plugin');
    expect((await entitledSet(people.seller)).plugins.map((plugin) => plugin.name)).not.toContain(name);
    await expect(publishSample(author, { name, version: '2.0.0' })).rejects.toThrow(/revoked/);
  });

  it('installs for oneself where allowed, else files a request; forks keep their origin', async () => {
    const name = uniqueName('open');
    const admin = actorOf(people.admin);
    const published = await publishSample(actorOf(people.author), { name, version: '2.0.0' });
    const seller = actorOf(people.seller);
    // Before approval the draft answers exactly like a name nobody published.
    const unknownName = uniqueName('never-published');
    await expect(installForSelf(seller, unknownName)).rejects.toThrow(`no installable plugin named ${unknownName}`);
    await expect(installForSelf(seller, name)).rejects.toThrow(`no installable plugin named ${name}`);
    await approveVersion(admin, published.versionId, 'ok', { selfInstall: false });
    expect((await installForSelf(seller, name)).outcome).toBe('requested');
    expect((await entitledSet(people.seller)).plugins.map((plugin) => plugin.name)).not.toContain(name);

    const forkName = uniqueName('my-fork');
    const authorAndMember = actorOf(people.author);
    const fork = await forkVersion(authorAndMember, published.versionId, forkName);
    expect(fork.version).toBe('1.0.0');
    const { rows } = await pool().query<{ forked_from_version_id: string }>('SELECT forked_from_version_id FROM plugins WHERE id = $1', [fork.pluginId]);
    expect(rows[0]!.forked_from_version_id).toBe(published.versionId);
    expect((await eventsOf(fork.traceId)).map((event) => event.action)).toEqual(['plugin.publish', 'plugin.fork']);
    // A member without plugins.publish cannot fork.
    await expect(forkVersion(seller, published.versionId, uniqueName('nope'))).rejects.toThrow(ForbiddenError);
  });

  it('rotates the organisation key: new signatures use the new kid, the old key endorses it', async () => {
    const before = await orgKeyDocument();
    const pinned = trustedKeysFrom({ keys: [before.keys[0]!] });
    const rotated = await rotateOrgKey();
    const after = await orgKeyDocument();
    expect(after.keys.map((key) => key.kid)).toContain(rotated.kid);
    expect(after.keys.map((key) => key.kid)).toContain(before.keys[0]!.kid);
    // A device that pinned only the old key follows the endorsement to the new one.
    expect(followRollovers(pinned, after.rollovers)).toContain(rotated.kid);
    const name = uniqueName('rotated');
    const published = await publishSample(actorOf(people.author), { name, version: '1.0.0' });
    const { kid } = await approveVersion(actorOf(people.admin), published.versionId, 'ok');
    expect(kid).toBe(rotated.kid);
  });

  it('keeps a replaced organisation key published past its overlap while an approved version it signed is in use', async () => {
    const published = await publishSample(actorOf(people.author), { name: uniqueName('outlives-key'), version: '1.0.0' });
    const { kid } = await approveVersion(actorOf(people.admin), published.versionId, 'ok');
    await rotateOrgKey();
    // Retired now (this process may have signed with a key another test file had replaced already).
    expect((await listOrgKeys()).find((key) => key.kid === kid)).toMatchObject({ status: 'retired' });
    const longAfter = new Date(Date.now() + RETIRED_KEY_OVERLAP_MS + 86_400_000);
    // The version's signature never expires and is served in entitled sets: its key stays verifiable.
    const { rows } = await pool().query<{ signature: string }>('SELECT signature FROM plugin_versions WHERE id = $1', [published.versionId]);
    expect(verifyCompact<SignedVersion>(rows[0]!.signature, trustedKeysFrom(await orgKeyDocument(longAfter)), JWS_TYPES.pluginVersion).kid).toBe(kid);
  });
});
