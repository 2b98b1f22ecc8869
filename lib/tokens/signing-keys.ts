import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { db } from '@/lib/db/client';
import type { SigningKey } from '@/lib/generated/prisma/client';
import { RETIRED_KEY_VERIFY_SECONDS, SIGNING_ALGORITHM } from './config';
import { decryptPrivateKey, encryptPrivateKey } from './key-encryption';
import { installationSecret } from './secret';

/** The key new tokens are signed with. */
export interface ActiveSigningKey {
  kid: string;
  privateKey: CryptoKey;
}

interface CachedVerificationKey {
  key: CryptoKey;
  /** Null while the key is active. */
  verifyUntil: Date | null;
}

export interface SigningKeySummary {
  kid: string;
  algorithm: string;
  status: 'active' | 'retired';
  createdAt: Date;
  retiredAt: Date | null;
  verifyUntil: Date | null;
}

// Another process (the CLI) may rotate: re-reading the active key once a minute is enough,
// because a retired key keeps verifying far longer than that (RETIRED_KEY_VERIFY_SECONDS).
const ACTIVE_KEY_CACHE_MS = 60_000;
// An unknown kid triggers a reload, at most this often, so random kids cannot hammer the database.
const KEY_RELOAD_MIN_INTERVAL_MS = 1_000;
// Serialises key creation and rotation across processes.
const KEY_LOCK = 'gatehouse.oauth.signing-keys';

interface KeyCache {
  active?: { key: Promise<ActiveSigningKey>; loadedAt: number };
  verification: Map<string, CachedVerificationKey>;
  lastReload: number;
  reloading?: Promise<void>;
}

const globalCache = globalThis as typeof globalThis & { __gatehouseSigningKeys?: KeyCache };

function cache(): KeyCache {
  globalCache.__gatehouseSigningKeys ??= { verification: new Map(), lastReload: 0 };
  return globalCache.__gatehouseSigningKeys;
}

/** Forgets every cached key (after a rotation in this process, and in tests). */
export function clearSigningKeyCache(): void {
  globalCache.__gatehouseSigningKeys = undefined;
}

async function newKeyRow(): Promise<{ kid: string; publicJwk: JWK; encryptedPrivateKey: string }> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  // The RFC 7638 thumbprint: stable, and says nothing about when or where the key was made.
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  const encryptedPrivateKey = encryptPrivateKey(JSON.stringify(privateJwk), await installationSecret(), kid);
  return { kid, publicJwk: { ...publicJwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' }, encryptedPrivateKey };
}

/** Creates the first key if there is none; safe when several processes start at once. */
async function ensureActiveKeyRow(): Promise<SigningKey> {
  const existing = await db().signingKey.findFirst({ where: { status: 'active' }, orderBy: { createdAt: 'desc' } });
  if (existing) return existing;
  const row = await newKeyRow();
  return db().$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${KEY_LOCK}))`;
    const raced = await tx.signingKey.findFirst({ where: { status: 'active' }, orderBy: { createdAt: 'desc' } });
    if (raced) return raced;
    return tx.signingKey.create({ data: { ...row, publicJwk: row.publicJwk as object, algorithm: SIGNING_ALGORITHM, status: 'active' } });
  });
}

async function loadActiveKey(): Promise<ActiveSigningKey> {
  const row = await ensureActiveKeyRow();
  const jwk = JSON.parse(decryptPrivateKey(row.encryptedPrivateKey, await installationSecret(), row.kid)) as JWK;
  const privateKey = (await importJWK(jwk, SIGNING_ALGORITHM)) as CryptoKey;
  return { kid: row.kid, privateKey };
}

/** The key to sign with now (created on first use). */
export function activeSigningKey(): Promise<ActiveSigningKey> {
  const state = cache();
  if (state.active && Date.now() - state.active.loadedAt < ACTIVE_KEY_CACHE_MS) return state.active.key;
  const key = loadActiveKey();
  state.active = { key, loadedAt: Date.now() };
  // A failed load must not be cached, or one database hiccup would break signing for a minute.
  key.catch(() => {
    if (cache().active?.key === key) cache().active = undefined;
  });
  return key;
}

function publishedWhere(now: Date) {
  return { OR: [{ status: 'active' as const }, { status: 'retired' as const, verifyUntil: { gt: now } }] };
}

async function reloadVerificationKeys(): Promise<void> {
  const rows = await db().signingKey.findMany({ where: publishedWhere(new Date()) });
  const next = new Map<string, CachedVerificationKey>();
  for (const row of rows) {
    const key = (await importJWK(row.publicJwk as JWK, SIGNING_ALGORITHM)) as CryptoKey;
    next.set(row.kid, { key, verifyUntil: row.status === 'active' ? null : row.verifyUntil });
  }
  const state = cache();
  state.verification = next;
  state.lastReload = Date.now();
}

/** The public key for a kid, or null when no published key has it. */
export async function verificationKey(kid: string): Promise<CryptoKey | null> {
  const state = cache();
  const usable = (entry: CachedVerificationKey | undefined) => entry && (!entry.verifyUntil || entry.verifyUntil.getTime() > Date.now());
  const hit = state.verification.get(kid);
  if (usable(hit)) return hit!.key;
  if (Date.now() - state.lastReload >= KEY_RELOAD_MIN_INTERVAL_MS) {
    state.reloading ??= reloadVerificationKeys().finally(() => {
      state.reloading = undefined;
    });
  }
  if (state.reloading) await state.reloading;
  const reloaded = cache().verification.get(kid);
  return usable(reloaded) ? reloaded!.key : null;
}

/** The JWK Set: the active key and retired keys still inside their verification window. */
export async function publishedJwks(): Promise<{ keys: JWK[] }> {
  await ensureActiveKeyRow();
  const rows = await db().signingKey.findMany({ where: publishedWhere(new Date()), orderBy: { createdAt: 'desc' } });
  return { keys: rows.map((row) => row.publicJwk as JWK) };
}

/**
 * Starts signing with a new key. The previous one is retired, not deleted: it stays published and
 * keeps verifying the tokens it signed until they have all expired.
 */
export async function rotateSigningKey(): Promise<{ kid: string; retired: string[] }> {
  const row = await newKeyRow();
  const result = await db().$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${KEY_LOCK}))`;
    const now = new Date();
    const previous = await tx.signingKey.findMany({ where: { status: 'active' }, select: { kid: true } });
    await tx.signingKey.updateMany({
      where: { status: 'active' },
      data: { status: 'retired', retiredAt: now, verifyUntil: new Date(now.getTime() + RETIRED_KEY_VERIFY_SECONDS * 1000) },
    });
    await tx.signingKey.create({ data: { ...row, publicJwk: row.publicJwk as object, algorithm: SIGNING_ALGORITHM, status: 'active' } });
    return { kid: row.kid, retired: previous.map((p) => p.kid) };
  });
  clearSigningKeyCache();
  return result;
}

export async function listSigningKeys(): Promise<SigningKeySummary[]> {
  const rows = await db().signingKey.findMany({ orderBy: { createdAt: 'desc' } });
  return rows.map((row) => ({
    kid: row.kid,
    algorithm: row.algorithm,
    status: row.status,
    createdAt: row.createdAt,
    retiredAt: row.retiredAt,
    verifyUntil: row.verifyUntil,
  }));
}
