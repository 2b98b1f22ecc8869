import { createHash } from 'node:crypto';
import { constantTimeEqual } from './secrets';

// RFC 7636 §4.1 / §4.2: verifiers are 43-128 unreserved characters; an S256 challenge is the
// base64url SHA-256 of one, always 43 characters.
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function isValidS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge);
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function verifyPkce(challenge: string, verifier: string | undefined): boolean {
  if (!verifier || !VERIFIER.test(verifier)) return false;
  return constantTimeEqual(s256(verifier), challenge);
}
