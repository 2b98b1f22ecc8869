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
import { followRollovers, JWS_TYPES, JwsError, peekHeader, publicJwkOf, signCompact, trustedKeysFrom, verifyCompact, type KeyRollover } from './jws';
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

describe('the organisation key', () => {
  it('records which key each rollover replaced, and the statement is signed by that key', async () => {
    const rotated = await rotateOrgKey();
    const row = await rowOf(rotated.kid);
    expect(row.previousKid).toBe(rotated.previous);
    expect(rotated.retired).toEqual([rotated.previous]);
    const statement = row.endorsement!;
    expect(peekHeader(statement)).toMatchObject({ kid: rotated.previous, typ: JWS_TYPES.keyRollover });
    expect(payloadOf<KeyRollover>(statement)).toMatchObject({ previous: rotated.previous, next: { kid: rotated.kid } });
    expect((await listOrgKeys()).find((key) => key.kid === rotated.kid)).toMatchObject({ status: 'active', previousKid: rotated.previous, published: true });
    expect((await rowOf(rotated.previous)).status).toBe('retired');
  });

  it('follows a rollover only when the key that signed it is the previous key it names', async () => {
    const keyPair = () => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const jwk = publicJwkOf(publicKey);
      return { privateKey, jwk, kid: jwk.kid! };
    };
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
    const chained = [first!, second!].sort((a, b) => (a.previous === b.kid ? 1 : -1));
    // One replaced the key the other made active.
    expect(chained[1]!.previous).toBe(chained[0]!.kid);
    expect((await rowOf(chained[1]!.kid)).previousKid).toBe(chained[0]!.kid);
    expect(await db().orgSigningKey.count({ where: { status: 'active' } })).toBe(1);
  });

  it('keeps a replaced key published for its overlap, then drops it: what it signed verifies until then and is refused after', async () => {
    // A key of this test's own: made active here, replaced right after signing one document.
    await rotateOrgKey();
    const signed = await signAsOrganisation({ purpose: 'retirement test' }, DOCUMENT_TYPE);
    const { kid: successor, previous } = await rotateOrgKey();
    expect(previous).toBe(signed.kid);
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

  it('overlaps longer than anything it signs with an expiry lives, after every process stopped signing with the replaced key', () => {
    const longestDocumentMs = Math.max(ALLOWLIST_TTL_SECONDS, SET_FRESHNESS_SECONDS) * 1000;
    expect(RETIRED_KEY_OVERLAP_MS).toBeGreaterThan(ACTIVE_KEY_CACHE_MS + longestDocumentMs);
  });
});
