import { runBudgetAlerts, type BudgetAlertRun } from '@/lib/budgets/alerts';
import { configStore, systemTenantId, type GatehouseConfig, type SystemTenant } from '@/lib/config';
import type { QueueClient } from '@/lib/queue';

/** Every minute: an alert follows the spend that caused it within a minute or so. */
export const BUDGET_ALERTS_SCHEDULE = { id: 'budget-alerts', pattern: '* * * * *' } as const;

export interface BudgetAlertSources {
  config: () => GatehouseConfig;
  systemTenant: SystemTenant;
}

const live: BudgetAlertSources = { config: () => configStore().current().config, systemTenant: systemTenantId };

export async function runBudgetAlertsJob(sources: BudgetAlertSources = live): Promise<BudgetAlertRun> {
  const tenantId = await sources.systemTenant();
  if (!tenantId) return { alerts: [] };
  return runBudgetAlerts(tenantId, sources.config());
}

export async function startBudgetAlerts(client: QueueClient, sources: BudgetAlertSources = live) {
  const worker = client.createWorker('budget-alerts', () => runBudgetAlertsJob(sources));
  await client.schedule('budget-alerts', BUDGET_ALERTS_SCHEDULE.id, { pattern: BUDGET_ALERTS_SCHEDULE.pattern }, { trigger: 'schedule' });
  return worker;
}
