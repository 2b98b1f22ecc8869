// Rate limits, budgets (reserve worst case, settle actual) and the spend ledger for the gateway.
import { effectiveSnapshot, refreshDashboardBudgets } from '@/lib/budgets/effective';
import { configStore } from '@/lib/config';
import { DEFAULT_REDIS_PREFIX } from '@/lib/queue/connection';
import { GatewayLimits } from './gateway-limits';
import { postgresSpendLedger } from './ledger';
import { MemoryLimitStore } from './memory-store';
import { RedisLimitStore } from './redis-store';

export { GatewayLimits, type GatewayLimitsOptions, type LimitsAdmission, type LimitsAdmitInput, type ReconciledCall, type Reservation, type SettleInput, type SettleResult } from './gateway-limits';
export { allowedHeaders, capDoesNotFitResponse, capReachedResponse, formatUsd, fullestCap, limitsUnavailableResponse, utilization, utilizationPercent, type CapStanding } from './headers';
export { postgresSpendLedger, userSpendSummary, tenantSpendSummary, type RecordedSpend, type SpendEntry, type SpendLedger, type SpendScope } from './ledger';
export { MemoryLimitStore } from './memory-store';
export { RedisLimitStore } from './redis-store';
export { periodBounds, unixSeconds, type PeriodBounds } from './periods';
export { hasRole, matchesSubject, planFor, type CallerPlan, type PlanSubject } from './plan';
export type { LimitStore } from './store';

const globalLimits = globalThis as typeof globalThis & { __gatehouseGatewayLimits?: GatewayLimits };

/**
 * The process's limits: counters in Redis when REDIS_URL is set (shared by every replica), in
 * this process's memory otherwise (one replica only: each process would count on its own).
 */
export function gatewayLimits(): GatewayLimits {
  // Budgets edited in the dashboard are read before the first admission, and kept fresh after.
  if (!globalLimits.__gatehouseGatewayLimits && process.env.DATABASE_URL) void refreshDashboardBudgets();
  globalLimits.__gatehouseGatewayLimits ??= new GatewayLimits({
    store: process.env.REDIS_URL ? RedisLimitStore.connect(process.env.REDIS_URL) : new MemoryLimitStore(),
    ledger: postgresSpendLedger,
    // gatehouse.yaml with the dashboard's budgets merged in (lib/budgets/rules.ts has the precedence).
    config: () => effectiveSnapshot(configStore().current()),
    prefix: process.env.GATEHOUSE_REDIS_PREFIX || DEFAULT_REDIS_PREFIX,
  });
  return globalLimits.__gatehouseGatewayLimits;
}

export async function closeGatewayLimits(): Promise<void> {
  const limits = globalLimits.__gatehouseGatewayLimits;
  globalLimits.__gatehouseGatewayLimits = undefined;
  await limits?.close();
}
