import { ROLLUP_LOOKBACK_DAYS, runCostRollup, type CostRollupResult } from '@/lib/costs/rollup';
import type { QueueClient } from '@/lib/queue';
import type { QueuePayload } from '@/workers/queues';

/** Every two minutes: the Costs page is at most a few minutes behind the ledger. */
export const COST_ROLLUP_SCHEDULE = { id: 'cost-rollup', pattern: '*/2 * * * *' } as const;

export function runCostRollupJob(payload: QueuePayload<'cost-rollup'>): Promise<CostRollupResult> {
  return runCostRollup({ lookbackDays: payload.full ? null : ROLLUP_LOOKBACK_DAYS });
}

/** Starts the rollup worker, scheduled, with a full reconciliation now (backfills and repairs every day). */
export async function startCostRollup(client: QueueClient) {
  const worker = client.createWorker('cost-rollup', runCostRollupJob);
  await client.schedule('cost-rollup', COST_ROLLUP_SCHEDULE.id, { pattern: COST_ROLLUP_SCHEDULE.pattern }, { trigger: 'schedule' });
  await client.enqueue('cost-rollup', { trigger: 'startup', full: true });
  return worker;
}
