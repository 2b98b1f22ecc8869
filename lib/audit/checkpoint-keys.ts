import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The Ed25519 key that signs audit checkpoints, held outside the database: GATEHOUSE_CHECKPOINT_KEY
 * (PEM, or base64 PKCS#8 DER), a file named by GATEHOUSE_CHECKPOINT_KEY_FILE, or
 * `<data dir>/checkpoint-key.pem` (mode 0600) generated at the worker's first start. Verification
 * trusts only public keys from the same places (plus GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE), never
 * the copy stored beside each checkpoint.
 */

type EnvSource = Record<string, string | undefined>;

export const CHECKPOINT_KEY_FILE = 'checkpoint-key.pem';

export class CheckpointKeyError extends Error {
  override name = 'CheckpointKeyError';
}

export interface PinnedKey {
  keyId: string;
  publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER, base64: what each checkpoint row records. */
  publicKeyDer: string;
  /** Where it was pinned from, for messages. */
  source: string;
}

export interface CheckpointSigner extends PinnedKey {
  sign(message: Buffer): Buffer;
}

/** First 16 hex digits of SHA-256 over the SubjectPublicKeyInfo DER: short, stable, collision-safe enough to name a key. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

function pinned(publicKey: KeyObject, source: string): PinnedKey {
  return { keyId: keyIdOf(publicKey), publicKey, publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), source };
}

export function publicKeyPem(key: PinnedKey): string {
  return key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

function requireEd25519(key: KeyObject, source: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new CheckpointKeyError(`${source}: not an Ed25519 key (found ${key.asymmetricKeyType ?? 'unknown'})`);
  return key;
}

function parsePrivateKey(text: string, source: string): KeyObject {
  const trimmed = text.trim();
  try {
    const key = trimmed.startsWith('-----BEGIN')
      ? createPrivateKey({ key: trimmed, format: 'pem' })
      : createPrivateKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'pkcs8' });
    return requireEd25519(key, source);
  } catch (error) {
    if (error instanceof CheckpointKeyError) throw error;
    throw new CheckpointKeyError(`${source}: not a readable Ed25519 private key (PEM, or base64 PKCS#8 DER): ${(error as Error).message}`);
  }
}

function signerFrom(privateKey: KeyObject, source: string): CheckpointSigner {
  return { ...pinned(createPublicKey(privateKey), source), sign: (message) => sign(null, message, privateKey) };
}

async function readKeyFile(file: string, source: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CheckpointKeyError(`${source}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Writes a new key only if none exists (flag `wx`), so two starts racing keep one key. */
async function createKeyFile(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  try {
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export interface CheckpointKeyOptions {
  dataDir: string;
  source?: EnvSource;
  /** Generate `<dataDir>/checkpoint-key.pem` when no key is configured or stored (the worker does). */
  create?: boolean;
}

/** The signing key, or null when none is configured or stored and `create` is off (a verifier). */
export async function loadCheckpointSigner({ dataDir, source = process.env, create = false }: CheckpointKeyOptions): Promise<CheckpointSigner | null> {
  if (source.GATEHOUSE_CHECKPOINT_KEY) return signerFrom(parsePrivateKey(source.GATEHOUSE_CHECKPOINT_KEY, 'GATEHOUSE_CHECKPOINT_KEY'), 'GATEHOUSE_CHECKPOINT_KEY');
  if (source.GATEHOUSE_CHECKPOINT_KEY_FILE) {
    const file = source.GATEHOUSE_CHECKPOINT_KEY_FILE;
    return signerFrom(parsePrivateKey(await readKeyFile(file, 'GATEHOUSE_CHECKPOINT_KEY_FILE'), `GATEHOUSE_CHECKPOINT_KEY_FILE (${file})`), file);
  }
  const file = path.join(dataDir, CHECKPOINT_KEY_FILE);
  if (!existsSync(file)) {
    if (!create) return null;
    await createKeyFile(file);
  }
  return signerFrom(parsePrivateKey(await readKeyFile(file, 'checkpoint key'), file), file);
}

const PUBLIC_KEY_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

/**
 * Every public key a verifier trusts: the signing key's own (when this host holds it), and each
 * PEM public key in GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE (an auditor's copy, or keys rotated out).
 */
export async function pinnedCheckpointKeys({ dataDir, source = process.env }: CheckpointKeyOptions): Promise<PinnedKey[]> {
  const keys = new Map<string, PinnedKey>();
  const signer = await loadCheckpointSigner({ dataDir, source, create: false });
  if (signer) keys.set(signer.keyId, signer);
  const file = source.GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE;
  if (file) {
    const text = await readKeyFile(file, 'GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE');
    const blocks = text.match(PUBLIC_KEY_BLOCK) ?? [];
    if (blocks.length === 0) throw new CheckpointKeyError(`GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE (${file}): no PEM public key in it`);
    for (const block of blocks) {
      let key: KeyObject;
      try {
        key = requireEd25519(createPublicKey({ key: block, format: 'pem' }), file);
      } catch (error) {
        if (error instanceof CheckpointKeyError) throw error;
        throw new CheckpointKeyError(`GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE (${file}): unreadable public key: ${(error as Error).message}`);
      }
      const found = pinned(key, file);
      if (!keys.has(found.keyId)) keys.set(found.keyId, found);
    }
  }
  return [...keys.values()];
}
