import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditEvent } from './event';

/** prev_hash of the first event in every chain. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/**
 * RFC 8785 (JCS) canonical JSON: sorted keys, fixed number and string forms. The database gives
 * jsonb back with its own key order and spacing, so hashing must not depend on either.
 */
export function canonicalJson(value: unknown): string {
  const json = canonicalize(value);
  if (json === undefined) throw new Error('value has no JSON representation');
  return json;
}

function seqNumber(seq: bigint | number): number {
  const value = Number(seq);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`chain seq must be a positive safe integer, got ${seq}`);
  return value;
}

/**
 * hash(n) = SHA-256(hash(n-1) || JCS({seq: n, event})). The seq is inside the hashed document so
 * rows cannot be renumbered, and prev_hash in front links each event to everything before it.
 */
export function chainHash(prevHash: Buffer, seq: bigint | number, event: AuditEvent): Buffer {
  if (prevHash.length !== 32) throw new Error(`prev_hash must be 32 bytes, got ${prevHash.length}`);
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalJson({ seq: seqNumber(seq), event }), 'utf8')
    .digest();
}
