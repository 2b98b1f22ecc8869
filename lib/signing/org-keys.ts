import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { db } from '@/lib/db/client';
import { decryptPrivateKey, encryptPrivateKey } from '@/lib/tokens/key-encryption';
import { installationSecret } from '@/lib/tokens/secret';
import { JWS_TYPES, publicJwkOf, signCompact, type Ed25519Jwk, type KeyRollover } from './jws';

/**
 * The organisation key: Ed25519, stored sealed with GATEHOUSE_SECRET (as the token keys are),
 * created on first use, rotated by `gatehouse keys rotate-org`. Whatever the organisation signs
 * for its devices (approved plugin versions, entitled plugin sets, the MCP allowlist) is signed
 * here, and its public keys are published as one JWK Set.
 */

export interface OrgKeySummary {
  kid: string;
  status: 'active' | 'retired';
  createdAt: Date;
  retiredAt: Date | null;
}

/** The published key document: the JWK Set, plus the statements that chain each key to the last. */
export interface OrgKeyDocument {
  keys: Ed25519Jwk[];
  rollovers: string[];
}

const KEY_LOCK = 'gatehouse.org-signing-keys';
const ACTIVE_KEY_CACHE_MS = 60_000;

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

/** Every key ever used (retired keys still verify what they signed), newest first, and the rollover chain. */
export async function orgKeyDocument(): Promise<OrgKeyDocument> {
  await activeKey();
  const rows = await db().orgSigningKey.findMany({ orderBy: { createdAt: 'desc' } });
  return { keys: rows.map((row) => row.publicJwk as unknown as Ed25519Jwk), rollovers: rows.flatMap((row) => (row.endorsement ? [row.endorsement] : [])) };
}

/** The active public key, as MDM pins it on devices. */
export async function activeOrgPublicJwk(): Promise<Ed25519Jwk> {
  const key = await activeKey();
  const row = await db().orgSigningKey.findUniqueOrThrow({ where: { kid: key.kid } });
  return row.publicJwk as unknown as Ed25519Jwk;
}

/** Starts signing with a new key, endorsed by the one it replaces; the old one stays published. */
export async function rotateOrgKey(): Promise<{ kid: string; retired: string[] }> {
  const current = await loadActiveKey();
  const row = await newKeyRow(current);
  const result = await db().$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${KEY_LOCK}))`;
    const previous = await tx.orgSigningKey.findMany({ where: { status: 'active' }, select: { kid: true } });
    await tx.orgSigningKey.updateMany({ where: { status: 'active' }, data: { status: 'retired', retiredAt: new Date() } });
    await tx.orgSigningKey.create({ data: { ...row, publicJwk: row.publicJwk as object } });
    return { kid: row.kid, retired: previous.map((entry) => entry.kid) };
  });
  clearOrgKeyCache();
  return result;
}

export async function listOrgKeys(): Promise<OrgKeySummary[]> {
  const rows = await db().orgSigningKey.findMany({ orderBy: { createdAt: 'desc' } });
  return rows.map((row) => ({ kid: row.kid, status: row.status, createdAt: row.createdAt, retiredAt: row.retiredAt }));
}
