import { db } from '@/lib/db/client';
import { MAX_REVOCATION_CACHE_MS, RETIRED_KEY_VERIFY_SECONDS, tokenSettings } from './config';

/**
 * Access tokens are self-contained JWTs, so revoking a sign-in needs a second look: the verifier
 * checks every token against this view of disabled users and revoked sessions. It is re-read at
 * most every few seconds per process, which bounds how long a revoked token keeps working.
 */
export interface RevocationView {
  disabledUsers: ReadonlySet<string>;
  revokedSessions: ReadonlySet<string>;
  loadedAt: number;
}

interface RevocationState {
  ttlMs?: number;
  view?: RevocationView;
  loading?: Promise<RevocationView>;
  generation: number;
}

const globalState = globalThis as typeof globalThis & { __gatehouseRevocation?: RevocationState };

function state(): RevocationState {
  globalState.__gatehouseRevocation ??= { generation: 0 };
  return globalState.__gatehouseRevocation;
}

function ttlMs(): number {
  const current = state();
  current.ttlMs ??= tokenSettings().GATEHOUSE_REVOCATION_CACHE_MS;
  return current.ttlMs;
}

/** Sets how long the view is reused (0 = re-read on every check); capped at five seconds. */
export function setRevocationCacheTtl(ms: number): void {
  state().ttlMs = Math.max(0, Math.min(MAX_REVOCATION_CACHE_MS, Math.floor(ms)));
}

/** Drops the cached view; this process's next check reads the database (called after revoking). */
export function invalidateRevocationCache(): void {
  const current = state();
  current.generation += 1;
  current.view = undefined;
  current.loading = undefined;
}

async function loadView(): Promise<RevocationView> {
  // Sessions revoked longer ago than any token can live cannot have a live token left.
  const since = new Date(Date.now() - RETIRED_KEY_VERIFY_SECONDS * 1000);
  const [users, sessions] = await Promise.all([
    db().user.findMany({ where: { status: 'disabled' }, select: { id: true } }),
    db().oAuthSession.findMany({ where: { revokedAt: { gt: since } }, select: { id: true } }),
  ]);
  return {
    disabledUsers: new Set(users.map((u) => u.id)),
    revokedSessions: new Set(sessions.map((s) => s.id)),
    loadedAt: Date.now(),
  };
}

export function revocationView(): Promise<RevocationView> {
  const current = state();
  if (current.view && Date.now() - current.view.loadedAt < ttlMs()) return Promise.resolve(current.view);
  if (current.loading) return current.loading;
  const generation = current.generation;
  const loading = loadView()
    .then((view) => {
      // A revocation in this process while the read was in flight must not be overwritten by it.
      if (state().generation === generation) state().view = view;
      return view;
    })
    .finally(() => {
      if (state().loading === loading) state().loading = undefined;
    });
  current.loading = loading;
  return loading;
}
