import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveSecret } from '@/lib/platform/secret';

const CIPHER = 'aes-256-gcm';
const FORMAT = 'v1';

export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError';
}

function keyEncryptionKey(secret: string): Buffer {
  return Buffer.from(deriveSecret(secret, 'signing-keys'), 'base64url');
}

/**
 * Seals a private JWK. The kid is authenticated data, so a ciphertext copied onto another key's
 * row fails to open instead of silently signing under the wrong kid.
 * Format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 */
export function encryptPrivateKey(plaintext: string, secret: string, kid: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv(CIPHER, keyEncryptionKey(secret), iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function decryptPrivateKey(sealed: string, secret: string, kid: string): string {
  const [format, iv, ciphertext, tag] = sealed.split('.');
  if (format !== FORMAT || !iv || !ciphertext || !tag) throw new KeyDecryptionError(`signing key ${kid}: unknown encryption format`);
  try {
    const decipher = createDecipheriv(CIPHER, keyEncryptionKey(secret), Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(kid, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new KeyDecryptionError(
      `signing key ${kid} cannot be decrypted with this GATEHOUSE_SECRET (was the secret changed?); ` +
        'restore the secret, or run `gatehouse keys rotate` to start signing with a new key',
    );
  }
}
