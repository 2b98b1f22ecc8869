// The configuration the gateway enforces: gatehouse.yaml with the dashboard's budgets merged in
// (rules.ts). The dashboard budgets are read from the database every REFRESH_MS in the
// background, never on a request's path, and at once in the process that saved an edit.
import { systemTenantId, type ConfigSnapshot, type GatehouseConfig } from '@/lib/config';
import { loadDashboardBudgets } from './repository';
import { mergeBudgets, type DashboardBudget } from './rules';

const REFRESH_MS = 10_000;

interface BudgetCache {
  tenantId: string | null;
  budgets: DashboardBudget[];
  loadedAt: number;
  loading: Promise<void> | null;
  /** Merged configurations per YAML configuration, for the current dashboard budgets. */
  merged: WeakMap<GatehouseConfig, GatehouseConfig>;
}

const globalCache = globalThis as typeof globalThis & { __gatehouseDashboardBudgets?: BudgetCache };

function cache(): BudgetCache {
  globalCache.__gatehouseDashboardBudgets ??= { tenantId: null, budgets: [], loadedAt: 0, loading: null, merged: new WeakMap() };
  return globalCache.__gatehouseDashboardBudgets;
}

/**
 * Reads the dashboard budgets now: the installation's tenant's, or `tenantId`'s (the tenant an
 * edit was just saved in); a failure keeps the last ones read.
 */
export function refreshDashboardBudgets(tenantId?: string): Promise<void> {
  const state = cache();
  if (tenantId && tenantId !== state.tenantId) state.tenantId = tenantId;
  // A read already under way may have started before the edit being announced: read again after it.
  if (state.loading && tenantId) return state.loading.then(() => refreshDashboardBudgets());
  state.loading ??= (async () => {
    try {
      const tenantId = state.tenantId ?? (await systemTenantId());
      if (!tenantId) return;
      const budgets = await loadDashboardBudgets(tenantId);
      Object.assign(state, { tenantId, budgets, loadedAt: Date.now(), merged: new WeakMap() });
    } catch (error) {
      console.error(`budgets: reading dashboard budgets failed, keeping the last ones read: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      state.loading = null;
    }
  })();
  return state.loading;
}

/** gatehouse.yaml's configuration with the dashboard budgets merged in; the same object while neither changes (plans are cached per object). */
export function withDashboardBudgets(config: GatehouseConfig): GatehouseConfig {
  const state = cache();
  if (Date.now() - state.loadedAt > REFRESH_MS && process.env.DATABASE_URL) void refreshDashboardBudgets();
  if (!state.budgets.length) return config;
  let merged = state.merged.get(config);
  if (!merged) {
    const budgets = mergeBudgets(config.limits.budgets, state.budgets).map((budget) => budget.rule);
    merged = { ...config, limits: { ...config.limits, budgets } };
    state.merged.set(config, merged);
  }
  return merged;
}

/** As ConfigStore.current(), with the dashboard budgets merged in. */
export function effectiveSnapshot<Snapshot extends Pick<ConfigSnapshot, 'config'>>(snapshot: Snapshot): Snapshot {
  const config = withDashboardBudgets(snapshot.config);
  return config === snapshot.config ? snapshot : { ...snapshot, config };
}
