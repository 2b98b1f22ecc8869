import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { db } from '@/lib/db/client';
import { decryptPrivateKey, encryptPrivateKey } from '@/lib/tokens/key-encryption';
import { installationSecret } from '@/lib/tokens/secret';
import { JWS_TYPES, publicJwkOf, signCompact, type Ed25519Jwk, type KeyRollover } from './jws';

/**
 * The organisation key: Ed25519, stored sealed with GATEHOUSE_SECRET (as the token keys are),
 * created on first use, rotated by `gatehouse plugins rotate-key`. Whatever the organisation signs
 * for its devices (approved plugin versions, entitled plugin sets, the MCP allowlist) is signed
 * here, and its public keys are published as one JWK Set.
 */

export interface OrgKeySummary {
  kid: string;
  status: 'active' | 'retired';
  /** The key this one replaced (null for the first). */
  previousKid: string | null;
  createdAt: Date;
  retiredAt: Date | null;
  /** In the published JWK Set (see RETIRED_KEY_OVERLAP_MS). */
  published: boolean;
}

/** The published key document: the JWK Set, plus the statements that chain each key to the last. */
export interface OrgKeyDocument {
  keys: Ed25519Jwk[];
  rollovers: string[];
}

const KEY_LOCK = 'gatehouse.org-signing-keys';
// How long a process keeps signing with the key it loaded, so a rotation reaches every process within it.
export const ACTIVE_KEY_CACHE_MS = 60_000;

/**
 * How long a replaced key stays in the published JWK Set after its successor took over. Whatever
 * it signed that expires is out of use well before: entitled sets live ten minutes, MCP allowlists
 * and manifests an hour, and a process signs with its cached key for ACTIVE_KEY_CACHE_MS after a
 * rotation. A week also lets devices that sync rarely see the rollover while both keys are
 * published. Keys that signed something without an expiry (an approved plugin version) stay
 * published while that signature is in use. Rollover statements stay published for good, so a
 * device that pinned a dropped key can still follow the chain to the active one.
 */
export const RETIRED_KEY_OVERLAP_MS = 7 * 86_400_000;

interface KeyRow {
  kid: string;
  status: 'active' | 'retired';
  retiredAt: Date | null;
}

/** Whether a key is published at `now`, given the retired keys a live non-expiring signature still names. */
export function isPublished(row: KeyRow, now: Date, stillSigning: ReadonlySet<string>): boolean {
  if (row.status === 'active' || stillSigning.has(row.kid)) return true;
  return row.retiredAt !== null && now.getTime() < row.retiredAt.getTime() + RETIRED_KEY_OVERLAP_MS;
}

/**
 * Retired keys whose signatures never expire and are still served: an approved plugin version's
 * signature goes into every entitled set that holds it, so its key must stay verifiable.
 */
async function kidsOfLiveSignatures(kids: string[]): Promise<Set<string>> {
  if (!kids.length) return new Set();
  const versions = await db().pluginVersion.findMany({ where: { status: 'approved', signedKid: { in: kids } }, select: { signedKid: true }, distinct: ['signedKid'] });
  return new Set(versions.flatMap((version) => (version.signedKid ? [version.signedKid] : [])));
}

async function publishedKids(rows: KeyRow[], now: Date): Promise<Set<string>> {
  const stillSigning = await kidsOfLiveSignatures(rows.filter((row) => row.status === 'retired').map((row) => row.kid));
  return new Set(rows.filter((row) => isPublished(row, now, stillSigning)).map((row) => row.kid));
}

interface ActiveKey {
  kid: string;
  privateKey: KeyObject;
}

const globalCache = globalThis as typeof globalThis & { __gatehouseOrgKey?: { key: Promise<ActiveKey>; loadedAt: number } };

export function clearOrgKeyCache(): void {
  globalCache.__gatehouseOrgKey = undefined;
}

async function newKeyRow(endorsedBy: ActiveKey | null): Promise<{ kid: string; publicJwk: Ed25519Jwk; encryptedPrivateKey: string; endorsement: string | null }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicJwk = publicJwkOf(publicKey);
  const kid = publicJwk.kid!;
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const rollover: KeyRollover | null = endorsedBy ? { previous: endorsedBy.kid, next: publicJwk, iat: Math.floor(Date.now() / 1000) } : null;
  return {
    kid,
    publicJwk,
    encryptedPrivateKey: encryptPrivateKey(pem, await installationSecret(), kid),
    endorsement: rollover && endorsedBy ? signCompact(rollover, { kid: endorsedBy.kid, typ: JWS_TYPES.keyRollover }, endorsedBy.privateKey) : null,
  };
}

async function openRow(row: { kid: string; encryptedPrivateKey: string }): Promise<ActiveKey> {
  return { kid: row.kid, privateKey: createPrivateKey(decryptPrivateKey(row.encryptedPrivateKey, await installationSecret(), row.kid)) };
}

async function loadActiveKey(): Promise<ActiveKey> {
  const existing = await db().orgSigningKey.findFirst({ where: { status: 'active' }, orderBy: { createdAt: 'desc' } });
  if (existing) return openRow(existing);
  const row = await newKeyRow(null);
  const stored = await db().$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${KEY_LOCK}))`;
    const raced = await tx.orgSigningKey.findFirst({ where: { status: 'active' }, orderBy: { createdAt: 'desc' } });
    if (raced) return raced;
    return tx.orgSigningKey.create({ data: { ...row, publicJwk: row.publicJwk as object } });
  });
  return openRow(stored);
}

function activeKey(): Promise<ActiveKey> {
  const cached = globalCache.__gatehouseOrgKey;
  if (cached && Date.now() - cached.loadedAt < ACTIVE_KEY_CACHE_MS) return cached.key;
  const key = loadActiveKey();
  globalCache.__gatehouseOrgKey = { key, loadedAt: Date.now() };
  key.catch(() => {
    if (globalCache.__gatehouseOrgKey?.key === key) globalCache.__gatehouseOrgKey = undefined;
  });
  return key;
}

/** Signs `payload` as the organisation: compact JWS, EdDSA, with the active key's kid. */
export async function signAsOrganisation(payload: unknown, typ: string): Promise<{ jws: string; kid: string }> {
  const key = await activeKey();
  return { jws: signCompact(payload, { kid: key.kid, typ }, key.privateKey), kid: key.kid };
}

/**
 * The published keys, newest first: the active one and the replaced ones still in their overlap
 * or still naming a live signature (RETIRED_KEY_OVERLAP_MS); and every rollover statement.
 * `now`: the time to decide at (tests).
 */
export async function orgKeyDocument(now: Date = new Date()): Promise<OrgKeyDocument> {
  await activeKey();
  const rows = await db().orgSigningKey.findMany({ orderBy: { createdAt: 'desc' } });
  const published = await publishedKids(rows, now);
  return {
    keys: rows.filter((row) => published.has(row.kid)).map((row) => row.publicJwk as unknown as Ed25519Jwk),
    rollovers: rows.flatMap((row) => (row.endorsement ? [row.endorsement] : [])),
  };
}

/** The kid this process signs with now (the active key, as cached for ACTIVE_KEY_CACHE_MS). */
export async function activeOrgKid(): Promise<string> {
  return (await activeKey()).kid;
}

/** The active public key, as MDM pins it on devices. */
export async function activeOrgPublicJwk(): Promise<Ed25519Jwk> {
  const key = await activeKey();
  const row = await db().orgSigningKey.findUniqueOrThrow({ where: { kid: key.kid } });
  return row.publicJwk as unknown as Ed25519Jwk;
}

// Rotations racing each other: each retries on the key the other made active, so the chain stays one line.
const ROTATION_ATTEMPTS = 5;

/**
 * Starts signing with a new key, endorsed by the one it replaces, which the new key's row records
 * as `previousKid`. The replaced key stays published for RETIRED_KEY_OVERLAP_MS (or while a live
 * signature names it). The endorsement names the key that is active when the rotation commits:
 * a rotation that ran meanwhile is followed, never forked from.
 */
export async function rotateOrgKey(): Promise<{ kid: string; previous: string }> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await loadActiveKey();
    const row = await newKeyRow(current);
    const result = await db().$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${KEY_LOCK}))`;
      const active = await tx.orgSigningKey.findMany({ where: { status: 'active' }, select: { kid: true } });
      if (active.length !== 1 || active[0]!.kid !== current.kid) return null;
      await tx.orgSigningKey.update({ where: { kid: current.kid }, data: { status: 'retired', retiredAt: new Date() } });
      await tx.orgSigningKey.create({ data: { ...row, previousKid: current.kid, publicJwk: row.publicJwk as object } });
      return { kid: row.kid, previous: current.kid };
    });
    if (result) {
      clearOrgKeyCache();
      return result;
    }
    if (attempt >= ROTATION_ATTEMPTS) throw new Error('the organisation key kept changing while rotating it; try again');
  }
}

export async function listOrgKeys(now: Date = new Date()): Promise<OrgKeySummary[]> {
  const rows = await db().orgSigningKey.findMany({ orderBy: { createdAt: 'desc' } });
  const published = await publishedKids(rows, now);
  return rows.map((row) => ({ kid: row.kid, status: row.status, previousKid: row.previousKid, createdAt: row.createdAt, retiredAt: row.retiredAt, published: published.has(row.kid) }));
}
