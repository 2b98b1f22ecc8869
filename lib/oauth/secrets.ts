import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** An unguessable opaque value: `bytes` random bytes, base64url (32 bytes = 256 bits). */
export function randomToken(bytes = 32, prefix = ''): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

/**
 * What is stored instead of a code, device code, refresh token or client secret. They are all
 * high-entropy random values, so a fast hash is enough: there is nothing to brute-force.
 */
export function hashSecret(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
