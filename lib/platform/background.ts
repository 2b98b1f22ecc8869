/**
 * The one registry for work that outlives the response that caused it (settling a budget, the
 * response event, the ledger row). Shutdown drains it before the database pool closes, so a
 * SIGTERM never cuts evidence off half-way. Work that must survive a crash as well (kill -9)
 * needs a durable record of its own; the gateway's reconciler provides that for requests.
 */

interface Registry {
  tasks: Set<Promise<void>>;
  /** Work held back on purpose (counted audit events) that a drain must finish now, by label. */
  flushers: Map<string, DrainFlusher>;
}

// Kept on globalThis so Next's dev reloads and the Node server share one registry per process.
const globalRegistry = globalThis as typeof globalThis & { __gatehouseBackground?: Registry };

function registry(): Registry {
  globalRegistry.__gatehouseBackground ??= { tasks: new Set(), flushers: new Map() };
  globalRegistry.__gatehouseBackground.flushers ??= new Map();
  return globalRegistry.__gatehouseBackground;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `work` after the caller returns, tracked until it settles. A failure is logged with
 * `label` (background work has nobody to throw to). Work started after shutdown began still
 * runs and is still awaited: refusing it would lose exactly what the registry exists to keep.
 */
export function runInBackground(label: string, work: () => Promise<unknown>): void {
  const { tasks } = registry();
  const task: Promise<void> = (async () => {
    try {
      await work();
    } catch (error) {
      console.error(`${label} failed: ${describe(error)}`);
    }
  })().finally(() => tasks.delete(task));
  tasks.add(task);
}

/**
 * Starts writing held-back work now; may return what undoes, once the drain has finished, a change
 * that only holds while draining (tests drain mid-file, and the process goes on after that).
 */
export type DrainFlusher = () => void | (() => void);

/**
 * Registers work that is held back on purpose until later (events counted per minute and written
 * once): `flush` must start writing it now, through runInBackground, so the drain waits for it.
 * One flusher per label; registering the same label again replaces it.
 */
export function onDrain(label: string, flush: DrainFlusher): void {
  registry().flushers.set(label, flush);
}

/** How many background tasks are still running. */
export function pendingBackgroundTasks(): number {
  return registry().tasks.size;
}

/**
 * Asks every held-back batch to flush, then waits until every background task (including ones
 * started while waiting) has settled, or until `timeoutMs` passes. Resolves with how many were
 * still running at the deadline.
 */
export async function drainBackgroundTasks(timeoutMs = 30_000): Promise<number> {
  const state = registry();
  const afterDrain: (() => void)[] = [];
  for (const [label, flush] of state.flushers) {
    try {
      const undo = flush();
      if (undo) afterDrain.push(undo);
    } catch (error) {
      console.error(`${label} failed: ${describe(error)}`);
    }
  }
  try {
    const deadline = Date.now() + timeoutMs;
    while (state.tasks.size > 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, remaining);
      });
      await Promise.race([Promise.allSettled([...state.tasks]), expired]);
      clearTimeout(timer);
    }
    return state.tasks.size;
  } finally {
    // As with the flushers: one failing undo must not skip the others or fail the shutdown.
    for (const undo of afterDrain) {
      try {
        undo();
      } catch (error) {
        console.error(`undoing a drain step failed: ${describe(error)}`);
      }
    }
  }
}
