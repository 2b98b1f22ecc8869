import { appendAuditEvent } from '@/lib/audit';
import { pruneSignInThrottles } from '@/lib/auth/sign-in-throttle';
import { configStore, systemTenantId, type GatehouseConfig, type SystemTenant } from '@/lib/config';
import { pool } from '@/lib/db/client';
import { pruneExpiredOAuthState } from '@/lib/oauth/prune';
import type { QueueClient } from '@/lib/queue';
import { purgeDeletedSkills } from '@/lib/skills/service';
import { pruneRevocationChanges } from '@/lib/tokens/revocation-repository';
import type { QueuePayload } from '@/workers/queues';

export interface HousekeepingResult {
  /** Partition names ensured, current month first. */
  partitions: string[];
  /** Expired OAuth codes, device authorizations, refresh tokens and rate-limit windows removed. */
  prunedOAuthRows: number;
}

/** Where the job reads `audit.partitions_ahead`; the live config by default. */
export type ConfigSource = () => GatehouseConfig;

/** The live configuration, as every worker job reads it by default. */
export const liveConfig: ConfigSource = () => configStore().current().config;

/** Hourly at minute 7: off the top of the hour, when everyone else's cron jobs run. */
export const HOUSEKEEPING_SCHEDULE = { id: 'housekeeping-hourly', pattern: '7 * * * *' } as const;

/**
 * Prunes expired OAuth state (spent codes, old device authorizations, expired refresh tokens) and
 * revocation changes older than a day, and creates this month's audit partition and the next
 * `partitions_ahead`, so events always land in a monthly partition rather than the default one
 * (which cannot be split cheaply later).
 * audit_ensure_partition is SECURITY DEFINER, so the app role may call it. Expired audit
 * content is purged by its own job (content-purge.ts).
 */
export async function runHousekeeping(
  payload: QueuePayload<'housekeeping'>,
  currentConfig: ConfigSource = liveConfig,
  systemTenant: SystemTenant = systemTenantId,
): Promise<HousekeepingResult> {
  const config = currentConfig();
  const monthsAhead = payload.partitions_ahead ?? config.audit.partitions_ahead;
  const started = performance.now();
  let partitions: string[] = [];
  let failure: Error | undefined;
  try {
    const { rows } = await pool().query<{ partition: string }>(
      `SELECT audit_ensure_partition(now() + make_interval(months => m)) AS partition
         FROM generate_series(0, $1::int) AS m ORDER BY m`,
      [monthsAhead],
    );
    partitions = rows.map((row) => row.partition);
  } catch (error) {
    failure = error as Error;
  }
  let prunedOAuthRows = 0;
  try {
    const pruned = await pruneExpiredOAuthState();
    prunedOAuthRows = pruned.authorizationCodes + pruned.deviceAuthorizations + pruned.refreshTokens + pruned.rateLimitWindows;
  } catch (error) {
    failure ??= error as Error;
  }
  // Sign-in throttle counters long drained (one per address and per name ever tried).
  let prunedSignInThrottles = 0;
  try {
    prunedSignInThrottles = await pruneSignInThrottles();
  } catch (error) {
    failure ??= error as Error;
  }

  // Revocation changes every process has long read (lib/tokens/revocation.ts).
  let prunedRevocationChanges = 0;
  try {
    prunedRevocationChanges = await pruneRevocationChanges();
  } catch (error) {
    failure ??= error as Error;
  }

  // Skills deleted longer ago than their owners may restore them (lib/skills).
  let purgedSkills = 0;
  try {
    purgedSkills = await purgeDeletedSkills();
  } catch (error) {
    failure ??= error as Error;
  }

  const tenantId = await systemTenant();
  if (tenantId) {
    await appendAuditEvent({
      tenant_id: tenantId,
      event_type: 'system.housekeeping',
      action: 'partition.ensure',
      outcome: failure ? 'failure' : 'success',
      call_source: 'worker',
      target: { type: 'audit_partition' },
      attributes: {
        trigger: payload.trigger,
        months_ahead: monthsAhead,
        partitions: partitions.join(','),
        pruned_oauth_rows: prunedOAuthRows,
        pruned_sign_in_throttles: prunedSignInThrottles,
        pruned_revocation_changes: prunedRevocationChanges,
        purged_skills: purgedSkills,
        duration_ms: Math.round(performance.now() - started),
      },
      ...(failure ? { error: { type: 'partition_ensure_failed', message: failure.message.slice(0, 4000) } } : {}),
    });
  }
  // Thrown after recording, so the attempt is in the audit trail and BullMQ still retries it.
  if (failure) throw failure;
  return { partitions, prunedOAuthRows };
}

/** Starts the housekeeping worker, schedules it hourly and queues one run now. */
export async function startHousekeeping(client: QueueClient, currentConfig: ConfigSource = liveConfig, systemTenant: SystemTenant = systemTenantId) {
  const worker = client.createWorker('housekeeping', (payload) => runHousekeeping(payload, currentConfig, systemTenant));
  await client.schedule('housekeeping', HOUSEKEEPING_SCHEDULE.id, { pattern: HOUSEKEEPING_SCHEDULE.pattern }, { trigger: 'schedule' });
  await client.enqueue('housekeeping', { trigger: 'startup' });
  return worker;
}
