import { EventEmitter } from 'node:events';

/**
 * "A skill changed" signals: every create, edit, share change, delete and restore publishes one,
 * after it is committed. Listeners (the MCP server's sessions) re-read what they need; the signal
 * carries ids only, never content or who may see it.
 *
 * In-process for now; the transport can be replaced (PostgreSQL LISTEN/NOTIFY, Redis) keeping
 * these two signatures, so publishers and subscribers do not change.
 */
export interface SkillsChange {
  tenantId: string;
  skillId: string;
  /** The owner: their own sessions always care, whatever the sharing. */
  ownerId: string;
}

export type SkillsChangeListener = (change: SkillsChange) => void;

const EVENT = 'skills-changed';

// One emitter per process (kept on globalThis so Next's module reloading shares it with the server).
const holder = globalThis as typeof globalThis & { __gatehouseSkillsChanges?: EventEmitter };

function emitter(): EventEmitter {
  if (!holder.__gatehouseSkillsChanges) {
    holder.__gatehouseSkillsChanges = new EventEmitter();
    // Every connected MCP session subscribes: there is no leak to warn about.
    holder.__gatehouseSkillsChanges.setMaxListeners(0);
  }
  return holder.__gatehouseSkillsChanges;
}

export function publishSkillsChanged(change: SkillsChange): void {
  const listeners = emitter().listeners(EVENT) as SkillsChangeListener[];
  for (const listener of listeners) {
    // One failing listener must neither stop the others nor fail the save that published.
    try {
      listener(change);
    } catch (error) {
      console.error(`skills: a change listener failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Calls `listener` for every change from now on; the returned function unsubscribes. */
export function subscribeSkillsChanged(listener: SkillsChangeListener): () => void {
  emitter().on(EVENT, listener);
  return () => {
    emitter().off(EVENT, listener);
  };
}
