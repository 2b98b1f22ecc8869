// The organisation key's rotation (rollovers bound to the key they replace) and retirement (a
// replaced key leaves the published JWK Set after its overlap), against the run's PostgreSQL.
// Other test files sign and rotate with the same installation key at the same time, so each test
// reasons about keys it rotated itself.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, db } from '@/lib/db/client';
import { ALLOWLIST_TTL_SECONDS } from '@/lib/mcp/allowlist/documents';
import { configureTestEnvironment } from '@/lib/oauth/test-harness';
import { SET_FRESHNESS_SECONDS } from '@/lib/plugins/entitled';
import { currentKeys, followRollovers, JWS_TYPES, JwsError, peekHeader, publicJwkOf, signCompact, trustedKeysFrom, verifyCompact, type Ed25519Jwk, type KeyRollover } from './jws';
import { ACTIVE_KEY_CACHE_MS, listOrgKeys, orgKeyDocument, RETIRED_KEY_OVERLAP_MS, rotateOrgKey, signAsOrganisation } from './org-keys';

// The run's GATEHOUSE_SECRET, which seals the installation's keys for every test file.
configureTestEnvironment();

afterAll(async () => {
  await closeDatabase();
});

const DOCUMENT_TYPE = JWS_TYPES.mcpAllowlist;

function payloadOf<T>(jws: string): T {
  return JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as T;
}

async function rowOf(kid: string) {
  return db().orgSigningKey.findUniqueOrThrow({ where: { kid } });
}

/** The chain from the active key back through previous_kid: one line, newest first. */
async function chainFromActive(): Promise<string[]> {
  const rows = await db().orgSigningKey.findMany({ select: { kid: true, status: true, previousKid: true } });
  const byKid = new Map(rows.map((row) => [row.kid, row]));
  const active = rows.filter((row) => row.status === 'active');
  expect(active).toHaveLength(1);
  const chain: string[] = [];
  for (let kid: string | null = active[0]!.kid; kid; kid = byKid.get(kid)?.previousKid ?? null) chain.push(kid);
  return chain;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicJwkOf(publicKey);
  return { privateKey, jwk, kid: jwk.kid! };
}

function endorse(by: ReturnType<typeof keyPair>, next: Ed25519Jwk): string {
  return signCompact({ previous: by.kid, next, iat: 1 } satisfies KeyRollover, { kid: by.kid, typ: JWS_TYPES.keyRollover }, by.privateKey);
}

describe('the organisation key', () => {
  it('records which key each rollover replaced, and the statement is signed by that key', async () => {
    const rotated = await rotateOrgKey();
    const row = await rowOf(rotated.kid);
    expect(row.previousKid).toBe(rotated.previous);
    const statement = row.endorsement!;
    expect(peekHeader(statement)).toMatchObject({ kid: rotated.previous, typ: JWS_TYPES.keyRollover });
    expect(payloadOf<KeyRollover>(statement)).toMatchObject({ previous: rotated.previous, next: { kid: rotated.kid } });
    // Active unless another test file rotated since: published either way.
    expect((await listOrgKeys()).find((key) => key.kid === rotated.kid)).toMatchObject({ previousKid: rotated.previous, published: true });
    expect((await rowOf(rotated.previous)).status).toBe('retired');
  });

  it('follows a rollover only when the key that signed it is the previous key it names', async () => {
    const [pinned, other, successor] = [keyPair(), keyPair(), keyPair()];
    const rollover = (previous: string) => signCompact({ previous, next: successor.jwk, iat: 1 } satisfies KeyRollover, { kid: pinned.kid, typ: JWS_TYPES.keyRollover }, pinned.privateKey);
    // A trusted key vouching for the successor of some other key: not its to give.
    const unbound = trustedKeysFrom({ keys: [pinned.jwk, other.jwk] });
    expect(followRollovers(unbound, [rollover(other.kid)])).toEqual([]);
    expect(unbound.has(successor.kid)).toBe(false);
    const bound = trustedKeysFrom({ keys: [pinned.jwk] });
    expect(followRollovers(bound, [rollover(pinned.kid)])).toEqual([successor.kid]);
  });

  it('chains rotations that race each other instead of forking the chain', async () => {
    const [first, second] = await Promise.all([rotateOrgKey(), rotateOrgKey()]);
    // Other test files rotate the same installation key meanwhile: whatever came between, both
    // keys and the keys they replaced lie on the one chain that leads to the active key.
    const chain = await chainFromActive();
    for (const rotated of [first, second]) {
      expect(chain).toContain(rotated.kid);
      expect(chain.indexOf(rotated.previous)).toBe(chain.indexOf(rotated.kid) + 1);
    }
    expect(first.previous).not.toBe(second.previous);
  });

  it('keeps a replaced key published for its overlap, then drops it: what it signed verifies until then and is refused after', async () => {
    // A key made active here, replaced right after signing one document (by this test's rotation,
    // or by another test file's that came first: either way the row's successor is the one).
    await rotateOrgKey();
    const signed = await signAsOrganisation({ purpose: 'retirement test' }, DOCUMENT_TYPE);
    await rotateOrgKey();
    const previous = signed.kid;
    const successor = (await db().orgSigningKey.findFirstOrThrow({ where: { previousKid: previous } })).kid;
    const retiredAt = (await rowOf(previous)).retiredAt!;
    // Keys behind a live approved plugin signature stay published longer; none used this one.
    expect(await db().pluginVersion.count({ where: { signedKid: previous } })).toBe(0);

    const verifiedAt = async (at: Date) => verifyCompact(signed.jws, trustedKeysFrom(await orgKeyDocument(at)), DOCUMENT_TYPE);
    expect((await verifiedAt(new Date())).kid).toBe(previous);
    expect((await verifiedAt(new Date(retiredAt.getTime() + RETIRED_KEY_OVERLAP_MS - 1_000))).kid).toBe(previous);

    const after = new Date(retiredAt.getTime() + RETIRED_KEY_OVERLAP_MS + 1_000);
    const error = await verifiedAt(after).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(JwsError);
    expect((error as JwsError).reason).toBe('unknown_key');
    const document = await orgKeyDocument(after);
    expect(document.keys.map((key) => key.kid)).not.toContain(previous);
    expect((await listOrgKeys(after)).find((key) => key.kid === previous)).toMatchObject({ status: 'retired', published: false });
    // The active key is always published, and a device that pinned the dropped key still follows
    // its rollover statement to the successor.
    expect(document.keys.map((key) => key.kid)).toContain((await listOrgKeys()).find((key) => key.status === 'active')!.kid);
    const pinned = trustedKeysFrom({ keys: [(await rowOf(previous)).publicJwk as unknown as Parameters<typeof trustedKeysFrom>[0]['keys'][number]] });
    expect(followRollovers(pinned, document.rollovers)).toContain(successor);
  });

  it('still publishes a replaced key when the last document a process signed with it expires', async () => {
    await rotateOrgKey();
    const signed = await signAsOrganisation({ purpose: 'overlap test' }, DOCUMENT_TYPE);
    await rotateOrgKey();
    const retiredAt = (await rowOf(signed.kid)).retiredAt!.getTime();
    // A process that loaded the key just before the rotation signs with it for ACTIVE_KEY_CACHE_MS
    // more; what it signs last lives the longest lifetime of a document that expires.
    const lastExpiry = retiredAt + ACTIVE_KEY_CACHE_MS + Math.max(ALLOWLIST_TTL_SECONDS, SET_FRESHNESS_SECONDS) * 1000;
    const published = async (at: number) => (await orgKeyDocument(new Date(at))).keys.some((key) => key.kid === signed.kid);
    expect(await published(lastExpiry)).toBe(true);
    expect(await published(retiredAt + RETIRED_KEY_OVERLAP_MS - 1_000)).toBe(true);
    expect(await published(retiredAt + RETIRED_KEY_OVERLAP_MS + 1_000)).toBe(false);
  });

  it('follows one successor per key: a second successor a replaced key signed is refused, and what expires is accepted from the head only', () => {
    const [pinned, successor, forged] = [keyPair(), keyPair(), keyPair()];
    const followed = new Map<string, Ed25519Jwk>();
    const trusted = trustedKeysFrom({ keys: [pinned.jwk] });
    expect(followRollovers(trusted, [endorse(pinned, successor.jwk)], followed)).toEqual([successor.kid]);
    expect([...currentKeys(trusted, followed).keys()]).toEqual([successor.kid]);
    // The pinned key leaked after it was replaced: it endorses another successor.
    const error = (() => {
      try {
        followRollovers(trusted, [endorse(pinned, successor.jwk), endorse(pinned, forged.jwk)], followed);
      } catch (failure) {
        return failure;
      }
    })();
    expect(error).toBeInstanceOf(JwsError);
    expect((error as JwsError).reason).toBe('forked');
    expect(trusted.has(forged.kid)).toBe(false);
    // Re-pinned with the original key alone (as --org-key does on every run): the remembered rollover is followed again first.
    const repinned = trustedKeysFrom({ keys: [pinned.jwk] });
    expect(() => followRollovers(repinned, [endorse(pinned, forged.jwk)], followed)).toThrow(/two successors/);
    expect([...currentKeys(repinned, followed).keys()]).toEqual([successor.kid]);
    // Two successors for one key in one document, with nothing followed yet, are refused too.
    expect(() => followRollovers(trustedKeysFrom({ keys: [pinned.jwk] }), [endorse(pinned, successor.jwk), endorse(pinned, forged.jwk)])).toThrow(/two successors/);
    // A document signed by the replaced key no longer verifies against the head.
    const stale = signCompact({ purpose: 'leaked' }, { kid: pinned.kid, typ: DOCUMENT_TYPE }, pinned.privateKey);
    expect(() => verifyCompact(stale, currentKeys(repinned, followed), DOCUMENT_TYPE)).toThrow(/not trusted here/);
  });
});
