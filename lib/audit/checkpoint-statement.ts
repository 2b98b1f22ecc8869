import { verify } from 'node:crypto';
import { canonicalJson } from './canonical';
import type { PinnedKey } from './checkpoint-keys';
import type { StoredCheckpoint } from './checkpoint-store';

/**
 * What a checkpoint signs: RFC 8785 canonical JSON of these fields, as UTF-8. Self-describing so
 * an exported checkpoint can be checked with nothing but the statement, the signature and the
 * public key (`openssl pkeyutl -verify -rawin` or any Ed25519 library).
 */
export interface CheckpointStatement {
  type: 'gatehouse.audit.checkpoint';
  version: 1;
  tenant_id: string;
  /** 1, 2, 3 … per tenant: a deleted checkpoint leaves a gap the signature protects. */
  number: number;
  /** The chain head: the last event's seq and its hash (hex). */
  seq: number;
  hash: string;
  signed_at: string;
  key_id: string;
}

export function checkpointStatement(fields: Omit<CheckpointStatement, 'type' | 'version'>): string {
  return canonicalJson({ type: 'gatehouse.audit.checkpoint', version: 1, ...fields } satisfies CheckpointStatement);
}

/**
 * Why a stored checkpoint cannot be trusted, or undefined when it can: signed by a pinned key,
 * and its columns saying exactly what the signed statement says.
 */
export function checkpointProblem(checkpoint: StoredCheckpoint, pinned: readonly PinnedKey[]): string | undefined {
  const key = pinned.find((candidate) => candidate.keyId === checkpoint.key_id);
  if (!key) return `signed by key ${checkpoint.key_id}, which is not pinned (forged, or a key missing from GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE)`;
  if (!verify(null, Buffer.from(checkpoint.statement, 'utf8'), key.publicKey, checkpoint.signature)) {
    return `signature does not verify with pinned key ${key.keyId} (forged or altered checkpoint)`;
  }
  const expected = checkpointStatement({
    tenant_id: checkpoint.tenant_id,
    number: checkpoint.number,
    seq: checkpoint.seq,
    hash: checkpoint.hash.toString('hex'),
    signed_at: checkpoint.signed_at.toISOString(),
    key_id: checkpoint.key_id,
  });
  if (expected !== checkpoint.statement) return 'its columns differ from its signed statement (altered checkpoint row)';
  return undefined;
}
