import { appendAuditEvent, ContentPurgeError, purgeExpiredContent, type PurgeResult } from '@/lib/audit';
import { systemTenantId, type SystemTenant } from '@/lib/config';
import type { QueueClient } from '@/lib/queue';
import type { QueuePayload } from '@/workers/queues';
import { liveConfig, type ConfigSource } from './housekeeping';

/** Hourly at minute 37: apart from housekeeping (minute 7), so the two never compete. */
export const CONTENT_PURGE_SCHEDULE = { id: 'content-purge-hourly', pattern: '37 * * * *' } as const;

/**
 * Enforces audit.content_retention_days: every stored prompt and completion got its expiry
 * from that setting when it was (last) referenced, and this deletes what is past it, through
 * the SECURITY DEFINER function audit_purge_expired_content. Each run appends one
 * `system.housekeeping` / `content.purge` event with the count, whatever the outcome, so the
 * audit trail shows that retention is enforced and when.
 */
export async function runContentPurge(payload: QueuePayload<'content-purge'>, currentConfig: ConfigSource = liveConfig, systemTenant: SystemTenant = systemTenantId): Promise<PurgeResult> {
  const config = currentConfig();
  const started = performance.now();
  let result: PurgeResult = { purged: 0, batches: 0, complete: false };
  let failure: Error | undefined;
  try {
    result = await purgeExpiredContent({ batchSize: payload.batch_size, maxBatches: payload.max_batches });
  } catch (error) {
    failure = error as Error;
    if (error instanceof ContentPurgeError) result = { ...result, purged: error.purged };
  }

  const tenantId = await systemTenant();
  if (tenantId) {
    await appendAuditEvent({
      tenant_id: tenantId,
      event_type: 'system.housekeeping',
      action: 'content.purge',
      outcome: failure ? 'failure' : 'success',
      call_source: 'worker',
      target: { type: 'audit_content' },
      attributes: {
        trigger: payload.trigger,
        purged: result.purged,
        batches: result.batches,
        complete: result.complete,
        batch_size: payload.batch_size,
        retention_days: config.audit.content_retention_days,
        duration_ms: Math.round(performance.now() - started),
      },
      ...(failure ? { error: { type: 'content_purge_failed', message: failure.message.slice(0, 4000) } } : {}),
    });
  }
  // Thrown after recording, so the attempt is in the audit trail and BullMQ still retries it.
  if (failure) throw failure;
  return result;
}

/** Starts the content-purge worker, schedules it hourly and queues one run now. */
export async function startContentPurge(client: QueueClient, currentConfig: ConfigSource = liveConfig, systemTenant: SystemTenant = systemTenantId) {
  const worker = client.createWorker('content-purge', (payload) => runContentPurge(payload, currentConfig, systemTenant));
  await client.schedule('content-purge', CONTENT_PURGE_SCHEDULE.id, { pattern: CONTENT_PURGE_SCHEDULE.pattern }, { trigger: 'schedule' });
  await client.enqueue('content-purge', { trigger: 'startup' });
  return worker;
}
