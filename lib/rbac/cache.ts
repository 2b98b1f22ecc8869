import { loadUserAccess, type UserAccess } from './access';

/** Effective permissions are reused this long; an admin change elsewhere shows within it. */
export const DEFAULT_PERMISSION_CACHE_MS = 5_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  access: UserAccess | null;
  loadedAt: number;
}

interface PermissionCacheState {
  ttlMs: number;
  entries: Map<string, Entry>;
  loading: Map<string, Promise<UserAccess | null>>;
  /** Bumped on every invalidation, so a read that started before it is not stored after it. */
  generation: number;
}

// On globalThis: the custom server and Next's bundle load this module separately in one process,
// and an admin change made through either must invalidate what both check against.
const globalState = globalThis as typeof globalThis & { __gatehousePermissionCache?: PermissionCacheState };

function state(): PermissionCacheState {
  globalState.__gatehousePermissionCache ??= { ttlMs: DEFAULT_PERMISSION_CACHE_MS, entries: new Map(), loading: new Map(), generation: 0 };
  return globalState.__gatehousePermissionCache;
}

/** How long a user's permissions are reused (0 = read on every check). */
export function setPermissionCacheTtl(ms: number): void {
  state().ttlMs = Math.max(0, Math.floor(ms));
}

/**
 * Forgets cached permissions (one user's, or everyone's): called after every change to role
 * bindings, roles or a user's status. Other processes catch up within the cache lifetime.
 */
export function invalidatePermissionCache(userId?: string): void {
  const current = state();
  current.generation += 1;
  if (userId === undefined) {
    current.entries.clear();
    current.loading.clear();
  } else {
    current.entries.delete(userId);
    current.loading.delete(userId);
  }
}

function remember(current: PermissionCacheState, userId: string, access: UserAccess | null): void {
  if (current.entries.size >= MAX_ENTRIES) {
    // Maps iterate in insertion order: the first key is the oldest entry.
    const oldest = current.entries.keys().next().value;
    if (oldest !== undefined) current.entries.delete(oldest);
  }
  current.entries.delete(userId); // re-inserted at the end: the newest entry
  current.entries.set(userId, { access, loadedAt: Date.now() });
}

/** The user's bindings, from the cache when fresh; concurrent misses share one read. */
export function cachedUserAccess(userId: string): Promise<UserAccess | null> {
  const current = state();
  const entry = current.entries.get(userId);
  if (entry && Date.now() - entry.loadedAt < current.ttlMs) return Promise.resolve(entry.access);
  const inFlight = current.loading.get(userId);
  if (inFlight) return inFlight;
  const generation = current.generation;
  const loading = loadUserAccess(userId).finally(() => {
    if (current.loading.get(userId) === loading) current.loading.delete(userId);
  });
  current.loading.set(userId, loading);
  return loading.then((access) => {
    if (current.generation === generation && current.ttlMs > 0) remember(current, userId, access);
    return access;
  });
}
