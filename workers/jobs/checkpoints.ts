import {
  CheckpointMemory,
  loadCheckpointSigner,
  pinnedCheckpointKeys,
  signCheckpoints,
  type CheckpointRun,
  type CheckpointSigner,
  type PinnedKey,
} from '@/lib/audit';
import { pool } from '@/lib/db/client';
import type { QueueClient } from '@/lib/queue';

/** Every 10 minutes, at minute 3, 13, 23 …: a rewrite has at most that long to go unsigned-over. */
export const CHECKPOINT_SCHEDULE = { id: 'audit-checkpoints', pattern: '3-59/10 * * * *' } as const;

/** What the worker signs with, all of it outside the database. */
export interface CheckpointContext {
  signer: CheckpointSigner;
  /** Keys of earlier checkpoints (the signer's own and GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE's). */
  pinned: PinnedKey[];
  memory: CheckpointMemory;
}

/**
 * The signing key (created in the data directory on first start unless GATEHOUSE_CHECKPOINT_KEY
 * or GATEHOUSE_CHECKPOINT_KEY_FILE names one), the keys it trusts, and its memory of what it signed.
 */
export async function loadCheckpointContext(dataDir: string, source: Record<string, string | undefined> = process.env): Promise<CheckpointContext> {
  const signer = (await loadCheckpointSigner({ dataDir, source, create: true }))!;
  return { signer, pinned: await pinnedCheckpointKeys({ dataDir, source }), memory: await CheckpointMemory.open(dataDir) };
}

export class CheckpointsRefusedError extends Error {
  override name = 'CheckpointsRefusedError';
}

/**
 * Signs every moved chain head. Chains that cannot be signed (broken since their last
 * checkpoint, or a checkpoint missing) are logged one line each and fail the run after the
 * others were signed, so they show up as failed jobs until someone looks.
 */
export async function runCheckpoints(context: CheckpointContext, log: (line: string) => void = console.error): Promise<CheckpointRun> {
  const run = await signCheckpoints(pool(), context.signer, { pinned: context.pinned, memory: context.memory });
  for (const refused of run.refused) log(`checkpoints: not signing tenant ${refused.tenant_id}: ${refused.reason}`);
  if (run.refused.length > 0) throw new CheckpointsRefusedError(`${run.refused.length} audit chain(s) not checkpointed (see the lines above); run \`gatehouse audit verify\``);
  return run;
}

/** Starts the checkpoint worker, schedules it and queues one run now. */
export async function startCheckpoints(client: QueueClient, context: CheckpointContext) {
  const worker = client.createWorker('checkpoints', () => runCheckpoints(context));
  await client.schedule('checkpoints', CHECKPOINT_SCHEDULE.id, { pattern: CHECKPOINT_SCHEDULE.pattern }, { trigger: 'schedule' });
  await client.enqueue('checkpoints', { trigger: 'startup' });
  return worker;
}
