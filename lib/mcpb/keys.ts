import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';

/**
 * Keys for the organisation CA and code-signing certificate: RSA, since MCPB signatures are RSA
 * (`mcpb sign` signs with node-forge, which supports no other key type, and so would any verifier
 * built on it). 3072 bits, the minimum code-signing certificates are issued with today.
 * pkijs works on WebCrypto keys; Node's KeyObjects are what gets stored (PKCS#8 PEM, sealed).
 */

export const RSA_BITS = 3072;
const SIGNATURE_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** pkijs' operations on Node's WebCrypto, passed explicitly so no global engine is set. */
export const cryptoEngine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS, publicExponent: 0x10001 });
  return { privateKey, publicKey };
}

export function privateKeyPem(key: SigningKey): string {
  return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function signingKeyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

export async function webPrivateKey(key: KeyObject): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('pkcs8', key.export({ format: 'der', type: 'pkcs8' }), SIGNATURE_ALGORITHM, false, ['sign'])) as CryptoKey;
}

export async function webPublicKey(key: KeyObject): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('spki', key.export({ format: 'der', type: 'spki' }), SIGNATURE_ALGORITHM, true, ['verify'])) as CryptoKey;
}
