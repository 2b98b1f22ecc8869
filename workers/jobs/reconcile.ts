import { appendAuditEvent } from '@/lib/audit';
import { configStore, systemTenantId, type GatehouseConfig, type SystemTenant } from '@/lib/config';
import { gatewayLimits, type GatewayLimits } from '@/lib/gateway/limits';
import { reconcileGatewayCalls, type ReconcileResult } from '@/lib/gateway/reconcile';
import type { QueueClient } from '@/lib/queue';
import type { QueuePayload } from '@/workers/queues';

/** Every minute: a call is closed within a minute of gateway.reconcile_after_seconds. */
export const RECONCILE_SCHEDULE = { id: 'gateway-reconcile', pattern: '* * * * *' } as const;

export interface ReconcileSources {
  config: () => GatehouseConfig;
  limits: () => GatewayLimits;
  /** Where the pass's system.housekeeping event goes; the installation's tenant by default. */
  systemTenant?: SystemTenant;
}

const live: ReconcileSources = { config: () => configStore().current().config, limits: gatewayLimits };

/**
 * One reconciler pass (lib/gateway/reconcile). A pass that closed or repaired calls is recorded as
 * a `system.housekeeping` event; the many passes that find nothing are not.
 */
export async function runReconcile(payload: QueuePayload<'reconcile'>, sources: ReconcileSources = live): Promise<ReconcileResult> {
  const config = sources.config();
  const started = performance.now();
  const result = await reconcileGatewayCalls({ config, limits: sources.limits() });
  if (result.closed + result.ledgerRepaired > 0) {
    const tenantId = await (sources.systemTenant ?? systemTenantId)();
    if (tenantId) {
      await appendAuditEvent({
        tenant_id: tenantId,
        event_type: 'system.housekeeping',
        action: 'gateway.reconcile',
        outcome: 'success',
        call_source: 'worker',
        attributes: {
          trigger: payload.trigger,
          closed_calls: result.closed,
          ledger_repaired: result.ledgerRepaired,
          reconcile_after_seconds: config.gateway.reconcile_after_seconds,
          duration_ms: Math.round(performance.now() - started),
        },
      });
    }
  }
  return result;
}

/** Starts the reconciler worker, scheduled every minute, with one run now (closing what a crash left). */
export async function startReconciler(client: QueueClient, sources: ReconcileSources = live) {
  const worker = client.createWorker('reconcile', (payload) => runReconcile(payload, sources));
  await client.schedule('reconcile', RECONCILE_SCHEDULE.id, { pattern: RECONCILE_SCHEDULE.pattern }, { trigger: 'schedule' });
  await client.enqueue('reconcile', { trigger: 'startup' });
  return worker;
}
