import { openSealedSecret, sealSecret, UnsealError } from '@/lib/platform/seal';

const PURPOSE = 'signing-keys';

export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError';
}

/**
 * Seals a private JWK. The kid is authenticated data, so a ciphertext copied onto another key's
 * row fails to open instead of silently signing under the wrong kid.
 */
export function encryptPrivateKey(plaintext: string, secret: string, kid: string): string {
  return sealSecret(plaintext, secret, PURPOSE, kid);
}

export function decryptPrivateKey(sealed: string, secret: string, kid: string): string {
  try {
    return openSealedSecret(sealed, secret, PURPOSE, kid);
  } catch (error) {
    if (!(error instanceof UnsealError)) throw error;
    if (error.message.startsWith('unknown')) throw new KeyDecryptionError(`signing key ${kid}: unknown encryption format`);
    throw new KeyDecryptionError(
      `signing key ${kid} cannot be decrypted with this GATEHOUSE_SECRET (was the secret changed?); ` +
        'restore the secret, or run `gatehouse keys rotate` to start signing with a new key',
    );
  }
}
