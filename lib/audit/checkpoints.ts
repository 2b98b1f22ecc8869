import { GENESIS_HASH } from './canonical';
import type { CheckpointSigner, PinnedKey } from './checkpoint-keys';
import type { CheckpointMemory } from './checkpoint-memory';
import { checkpointProblem, checkpointStatement } from './checkpoint-statement';
import { chainHeads, checkpointNumbered, insertCheckpoint, newestCheckpoints, type ChainHeadRow, type StoredCheckpoint } from './checkpoint-store';
import type { Queryable } from './queryable';
import { verifyChainSegment, type ChainPoint } from './verify';

export interface SignCheckpointsOptions {
  /** Keys besides the signer's that earlier checkpoints may carry (rotated keys). */
  pinned?: readonly PinnedKey[];
  /** The signer's record of what it signed; checked before and updated after each checkpoint. */
  memory?: CheckpointMemory;
  tenantIds?: readonly string[];
  now?: () => Date;
}

export interface CheckpointRun {
  signed: { tenant_id: string; number: number; seq: number }[];
  /** Tenants whose head has not moved since their last checkpoint. */
  unchanged: number;
  /** Tenants whose head was not signed, and why: each is a sign of tampering to investigate. */
  refused: { tenant_id: string; reason: string }[];
}

type Decision = { sign: { number: number; from: ChainPoint } } | { unchanged: true } | { refuse: string };

const PAGE = 20;

/**
 * The newest checkpoint that verifies with a pinned key (forged rows are skipped, and reported
 * by verification), and the highest number taken by any row. Reads from the newest down, so a
 * long history costs nothing while its latest checkpoint is genuine.
 */
async function latestTrusted(database: Queryable, tenantId: string, pinned: readonly PinnedKey[]): Promise<{ trusted?: StoredCheckpoint; highest: number }> {
  let highest = 0;
  let below: number | undefined;
  for (;;) {
    const rows = await newestCheckpoints(database, tenantId, PAGE, below);
    if (rows.length === 0) return { highest };
    highest = Math.max(highest, rows[0]!.number);
    // Numbers are read as JavaScript numbers: past 2^53 neither paging nor numbering is exact.
    if (!Number.isSafeInteger(highest + 1)) return { highest };
    const trusted = rows.find((row) => checkpointProblem(row, pinned) === undefined);
    if (trusted) return { trusted, highest };
    below = rows[rows.length - 1]!.number;
  }
}

/**
 * Decides whether `head` may be signed for a tenant: it must extend the latest checkpoint that
 * verifies (never sign a chain that shrank or was rewritten under an earlier signature), and the
 * signer's memory must still be in the database.
 */
async function decide(database: Queryable, head: ChainHeadRow, pinned: readonly PinnedKey[], memory: CheckpointMemory | undefined): Promise<Decision> {
  const remembered = memory?.get(head.tenant_id);
  if (remembered) {
    const row = await checkpointNumbered(database, head.tenant_id, remembered.number);
    if (!row || row.seq !== remembered.seq || row.hash.toString('hex') !== remembered.hash) {
      return { refuse: `checkpoint #${remembered.number} (seq ${remembered.seq}) that this signer made is missing or altered in the database` };
    }
  }
  const { trusted: base, highest } = await latestTrusted(database, head.tenant_id, pinned);
  // A forged row can take a number so high that none follows it exactly: refused and reported,
  // rather than signed under a wrong number or not at all.
  if (!Number.isSafeInteger(highest + 1)) return { refuse: `no checkpoint number left after #${highest} (a forged checkpoint row took it)` };
  const from: ChainPoint = base ? { seq: base.seq, hash: base.hash } : { seq: 0, hash: GENESIS_HASH };
  if (base && head.seq < base.seq) return { refuse: `chain head at seq ${head.seq} is behind checkpoint #${base.number} at seq ${base.seq} (events or head rolled back)` };
  if (base && head.seq === base.seq) {
    return head.hash.equals(base.hash) ? { unchanged: true } : { refuse: `chain head at seq ${head.seq} differs from checkpoint #${base.number} (rewritten)` };
  }
  const broken = await verifyChainSegment(database, head.tenant_id, from, { seq: head.seq, hash: head.hash });
  if (broken) {
    const since = base ? `since checkpoint #${base.number} (seq ${base.seq})` : 'from the first event';
    return { refuse: `chain broken at seq ${broken.seq} ${since}: ${broken.reason}` };
  }
  // Numbers follow the highest row, trusted or not, so a forged row cannot make two rows share one.
  return { sign: { number: highest + 1, from } };
}

/**
 * Signs each tenant's chain head (seq, hash, time, tenant) with the checkpoint key, when it moved
 * since the tenant's last checkpoint and the chain in between verifies. Workers racing for the
 * same number are harmless: the insert of the second is a no-op. Heads that cannot be signed are
 * reported, not thrown, so one tampered chain does not stop the others' checkpoints.
 */
export async function signCheckpoints(database: Queryable, signer: CheckpointSigner, options: SignCheckpointsOptions = {}): Promise<CheckpointRun> {
  const pinned = [signer, ...(options.pinned ?? []).filter((key) => key.keyId !== signer.keyId)];
  const now = options.now ?? (() => new Date());
  const run: CheckpointRun = { signed: [], unchanged: 0, refused: [] };
  for (const head of await chainHeads(database, options.tenantIds)) {
    // A chain that cannot be checked is that tenant's refusal: the other tenants' heads are still
    // signed, so tampering with one tenant cannot stop every checkpoint.
    const decision = await decide(database, head, pinned, options.memory).catch(
      (error: unknown): Decision => ({ refuse: `could not check: ${error instanceof Error ? error.message : String(error)}` }),
    );
    if ('unchanged' in decision) {
      run.unchanged += 1;
      continue;
    }
    if ('refuse' in decision) {
      run.refused.push({ tenant_id: head.tenant_id, reason: decision.refuse });
      continue;
    }
    // Millisecond precision, as timestamptz round-trips it, so the statement matches the row.
    const signedAt = new Date(Math.floor(now().getTime()));
    const fields = { tenant_id: head.tenant_id, number: decision.sign.number, seq: head.seq, hash: head.hash.toString('hex'), signed_at: signedAt.toISOString(), key_id: signer.keyId };
    const statement = checkpointStatement(fields);
    const signature = signer.sign(Buffer.from(statement, 'utf8'));
    const inserted = await insertCheckpoint(database, {
      tenant_id: head.tenant_id,
      number: fields.number,
      seq: head.seq,
      hash: head.hash,
      signed_at: signedAt,
      key_id: signer.keyId,
      public_key: signer.publicKeyDer,
      statement,
      signature,
    });
    if (!inserted) continue;
    await options.memory?.remember(head.tenant_id, { number: fields.number, seq: fields.seq, hash: fields.hash, signed_at: fields.signed_at, key_id: fields.key_id });
    run.signed.push({ tenant_id: head.tenant_id, number: fields.number, seq: head.seq });
  }
  return run;
}
