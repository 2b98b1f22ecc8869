import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveSecret } from './secret';

const CIPHER = 'aes-256-gcm';
const FORMAT = 'v1';

/** The sealed value is malformed, or was sealed with another secret, purpose or context. */
export class UnsealError extends Error {
  override name = 'UnsealError';
}

function keyFor(secret: string, purpose: string): Buffer {
  return Buffer.from(deriveSecret(secret, purpose), 'base64url');
}

/**
 * Encrypts a secret for storage at rest with AES-256-GCM under a key derived from the
 * installation secret for `purpose`. `context` (a row's id) is authenticated data, so a
 * ciphertext copied onto another row fails to open instead of being used there.
 * Format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 */
export function sealSecret(plaintext: string, secret: string, purpose: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv(CIPHER, keyFor(secret, purpose), iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** The plaintext sealSecret() sealed; UnsealError when it cannot be opened. */
export function openSealedSecret(sealed: string, secret: string, purpose: string, context: string): string {
  const [format, iv, ciphertext, tag] = sealed.split('.');
  if (format !== FORMAT || !iv || !ciphertext || !tag) throw new UnsealError('unknown encryption format');
  try {
    const decipher = createDecipheriv(CIPHER, keyFor(secret, purpose), Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new UnsealError('cannot be decrypted with this GATEHOUSE_SECRET (was the secret changed?)');
  }
}
