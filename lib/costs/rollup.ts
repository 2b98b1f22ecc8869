import { addDays, utcDay } from './query';
import { rollUpDay, staleRollupDays, type RollupDay } from './repository';

export interface CostRollupResult {
  /** Days (tenant and UTC date) recomputed because their entries changed or were never rolled up. */
  days: RollupDay[];
  entries: number;
}

/** How far back a scheduled run compares rollups with spend_entries (late settles land within minutes). */
export const ROLLUP_LOOKBACK_DAYS = 35;

/**
 * Brings the daily cost rollups in line with spend_entries: every day whose entries differ from
 * what its rollup was computed from is recomputed. `lookbackDays` null compares every day ever
 * recorded (at worker start), which also backfills an installation upgraded with spend on record.
 */
export async function runCostRollup(options: { lookbackDays: number | null; now?: Date }): Promise<CostRollupResult> {
  const now = options.now ?? new Date();
  const since = options.lookbackDays === null ? null : addDays(utcDay(now), -options.lookbackDays);
  const days = await staleRollupDays(since);
  let entries = 0;
  for (const day of days) entries += (await rollUpDay(day)).entries;
  return { days, entries };
}
