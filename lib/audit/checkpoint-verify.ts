import type { PinnedKey } from './checkpoint-keys';
import type { CheckpointMemory } from './checkpoint-memory';
import { checkpointProblem } from './checkpoint-statement';
import { eventHashesAt, listCheckpoints, type StoredCheckpoint } from './checkpoint-store';
import type { Queryable } from './queryable';

/** What a verifier trusts, all of it from outside the database. */
export interface CheckpointTrust {
  pinned: readonly PinnedKey[];
  /** The key holder's record of what it signed last, when verifying on its host. */
  memory?: CheckpointMemory;
}

export interface CheckpointReport {
  /** Checkpoint rows found for the tenant. */
  checkpoints: number;
  /** The latest checkpoint that verified and matches the chain. */
  latest?: { number: number; seq: number; signed_at: string; key_id: string };
  ok: boolean;
  /** One sentence each, naming the checkpoint and seq. */
  problems: string[];
}

function label(checkpoint: Pick<StoredCheckpoint, 'number' | 'seq'> & { signed_at: Date | string }): string {
  const signedAt = typeof checkpoint.signed_at === 'string' ? checkpoint.signed_at : checkpoint.signed_at.toISOString();
  return `checkpoint #${checkpoint.number} (seq ${checkpoint.seq}, signed ${signedAt})`;
}

function range(from: number, to: number): string {
  return from === to ? `seq ${to}` : `seqs ${from}..${to}`;
}

/**
 * Checks one tenant's chain against its signed checkpoints:
 * - every checkpoint is signed by a pinned key over exactly what its row says (else forged);
 * - numbers run 1, 2, 3 … without gaps and seqs only grow (else rows deleted);
 * - the event stored at each checkpoint's seq has the checkpointed hash. Plain verification
 *   already proved every stored hash is the recomputation of the events before it, so a
 *   difference here means the chain up to that seq was rewritten after the checkpoint was
 *   signed, even if every hash was recomputed;
 * - with the key holder's memory: its last checkpoint is still in the database, unchanged.
 */
export async function verifyCheckpoints(database: Queryable, tenantId: string, trust: CheckpointTrust): Promise<CheckpointReport> {
  const rows = await listCheckpoints(database, tenantId);
  const problems: string[] = [];
  let latest: CheckpointReport['latest'];

  if (rows.length > 0 && trust.pinned.length === 0) {
    problems.push(`${rows.length} checkpoint(s) cannot be checked: no checkpoint public key is pinned on this host (GATEHOUSE_CHECKPOINT_KEY_FILE, the data directory's key, or GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE)`);
    return { checkpoints: rows.length, ok: false, problems };
  }

  let expectedNumber = 1;
  let trusted: StoredCheckpoint | undefined;
  for (const row of rows) {
    if (row.number > expectedNumber) {
      const missing = row.number - 1 === expectedNumber ? `checkpoint #${expectedNumber} is` : `checkpoints #${expectedNumber}..#${row.number - 1} are`;
      problems.push(`${missing} missing before checkpoint #${row.number} (deleted checkpoint rows)`);
    }
    expectedNumber = row.number + 1;

    const untrusted = checkpointProblem(row, trust.pinned);
    if (untrusted) {
      problems.push(`${label(row)}: ${untrusted}`);
      continue;
    }
    if (trusted && row.seq <= trusted.seq) {
      problems.push(`${label(row)}: does not advance past checkpoint #${trusted.number} at seq ${trusted.seq}`);
    }
    const stored = await eventHashesAt(database, tenantId, row.seq);
    const sinceSeq = (trusted?.seq ?? 0) + 1;
    if (stored.length === 0) {
      problems.push(`${label(row)}: no event at seq ${row.seq} any more (events deleted after it was signed)`);
    } else if (!stored.some((event) => event.hash.equals(row.hash))) {
      problems.push(
        `rewrite: the event at seq ${row.seq} (${stored[0]!.event_id}) does not hash to ${label(row)}, key ${row.key_id}: ` +
          `${range(Math.min(sinceSeq, row.seq), row.seq)} changed after it was signed`,
      );
    } else {
      latest = { number: row.number, seq: row.seq, signed_at: row.signed_at.toISOString(), key_id: row.key_id };
    }
    trusted = row;
  }

  const remembered = trust.memory?.get(tenantId);
  if (remembered) {
    const row = rows.find((candidate) => candidate.number === remembered.number);
    const what = `${label(remembered)}, which this key holder signed`;
    const unchanged = row !== undefined && row.seq === remembered.seq && row.hash.toString('hex') === remembered.hash;
    if (!row) problems.push(`${what}, is missing from the database (deleted checkpoint rows)`);
    else if (!unchanged) problems.push(`${what}, was replaced in the database`);
    // An unchanged row was checked against the chain above; otherwise the memory is the evidence.
    if (!unchanged) {
      const stored = await eventHashesAt(database, tenantId, remembered.seq);
      if (!stored.some((event) => event.hash.toString('hex') === remembered.hash)) {
        problems.push(`rewrite: the event at seq ${remembered.seq} does not hash to ${what}: the chain up to seq ${remembered.seq} changed after it was signed`);
      }
    }
  }

  return { checkpoints: rows.length, ...(latest ? { latest } : {}), ok: problems.length === 0, problems };
}
