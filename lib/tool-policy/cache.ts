import { loadEnabledRules } from './repository';
import type { ToolPolicyRule } from './types';

/** Rules are reused this long per tenant; a change made in another process shows within it. */
export const RULE_CACHE_MS = 5_000;

interface Entry {
  rules: readonly ToolPolicyRule[];
  loadedAt: number;
}

interface RuleCacheState {
  entries: Map<string, Entry>;
  loading: Map<string, Promise<readonly ToolPolicyRule[]>>;
  /** Bumped on every invalidation, so a read that started before it is not stored after it. */
  generation: number;
}

// On globalThis: the custom server (the MCP proxy, the hook endpoints) and Next's bundle (the
// dashboard) load this module separately in one process; a change made through either must
// reach what both evaluate.
const globalState = globalThis as typeof globalThis & { __gatehouseToolPolicyCache?: RuleCacheState };

function state(): RuleCacheState {
  globalState.__gatehouseToolPolicyCache ??= { entries: new Map(), loading: new Map(), generation: 0 };
  return globalState.__gatehouseToolPolicyCache;
}

/** Forgets a tenant's rules; every rule change in this process calls it. */
export function invalidateToolPolicyCache(tenantId?: string): void {
  const current = state();
  current.generation += 1;
  if (tenantId === undefined) {
    current.entries.clear();
    current.loading.clear();
  } else {
    current.entries.delete(tenantId);
    current.loading.delete(tenantId);
  }
}

/** The tenant's enabled rules, from the cache when fresh; concurrent misses share one read. */
export function cachedToolPolicyRules(tenantId: string): Promise<readonly ToolPolicyRule[]> {
  const current = state();
  const entry = current.entries.get(tenantId);
  if (entry && Date.now() - entry.loadedAt < RULE_CACHE_MS) return Promise.resolve(entry.rules);
  const inFlight = current.loading.get(tenantId);
  if (inFlight) return inFlight;
  const generation = current.generation;
  const loading = loadEnabledRules(tenantId).finally(() => {
    if (current.loading.get(tenantId) === loading) current.loading.delete(tenantId);
  });
  current.loading.set(tenantId, loading);
  return loading.then((rules) => {
    if (current.generation === generation) current.entries.set(tenantId, { rules, loadedAt: Date.now() });
    return rules;
  });
}
