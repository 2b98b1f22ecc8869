import { configStore, systemTenantId } from '@/lib/config';
import { pool } from '@/lib/db/client';
import type { QueueClient } from '@/lib/queue';
import { forwardOnce, type ForwardRun } from '@/lib/siem';
import type { QueuePayload } from '@/workers/queues';

/** Every 5 seconds: how far a SIEM trails the audit trail when nothing is failing. */
export const SIEM_FORWARD_SCHEDULE = { id: 'siem-forward', every: 5_000 } as const;

/** One forwarding pass over every sink (lib/siem); runs in any number of workers side by side. */
export async function runSiemForward(payload: QueuePayload<'siem-forward'>, log: (line: string) => void = console.error): Promise<ForwardRun> {
  const run = await forwardOnce({ database: pool(), config: configStore().current().config, tenantId: await systemTenantId(), budgetMs: 4_000, log });
  if (run.retried + run.dead > 0) log(`siem: ${payload.trigger} pass: ${run.delivered} batches delivered, ${run.retried} to retry, ${run.dead} dead letters`);
  return run;
}

export async function startSiemForwarder(client: QueueClient) {
  const worker = client.createWorker('siem-forward', (payload) => runSiemForward(payload));
  await client.schedule('siem-forward', SIEM_FORWARD_SCHEDULE.id, { every: SIEM_FORWARD_SCHEDULE.every }, { trigger: 'schedule' });
  await client.enqueue('siem-forward', { trigger: 'startup' });
  return worker;
}
