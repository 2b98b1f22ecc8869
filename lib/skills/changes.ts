/**
 * Skill change signals across every web process: a change is published with PostgreSQL NOTIFY on
 * one channel after its transaction committed, and each process that has listeners (the MCP
 * server's sessions) holds one LISTEN connection and hands each signal to them, its own included.
 * The signal carries ids only: listeners re-read what they need (listVisibleSkills).
 */
import { z } from 'zod';
import { pool } from '@/lib/db/client';
import { channelListener, type ChannelListener } from '@/lib/db/listen';
import { runInBackground } from '@/lib/platform/background';

export interface SkillsChange {
  tenantId: string;
  skillId: string;
  /** The owner: their own sessions always care, whatever the sharing. */
  ownerId: string;
}

export type SkillsChangeListener = (change: SkillsChange) => void;

const CHANNEL = 'gatehouse_skills_changed';
const changeSchema = z.object({ tenantId: z.string().max(100), skillId: z.string().max(100), ownerId: z.string().max(100) });

interface ListenState {
  listeners: Set<SkillsChangeListener>;
  connection: ChannelListener;
}

// On globalThis: Next's bundles and the data plane may load this module twice in one process.
const globalState = globalThis as typeof globalThis & { __gatehouseSkillsChangeSignals?: ListenState };
const state: ListenState = (globalState.__gatehouseSkillsChangeSignals ??= {
  listeners: new Set(),
  connection: channelListener({ channel: CHANNEL, label: 'skills', onNotification: deliver }),
});

function deliver(payload: string | undefined): void {
  let change: SkillsChange;
  try {
    change = changeSchema.parse(JSON.parse(payload ?? ''));
  } catch {
    console.error('skills: ignored a malformed change signal');
    return;
  }
  for (const listener of [...state.listeners]) {
    try {
      listener(change);
    } catch (error) {
      console.error(`skills: a change listener failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Tells every process's listeners that a skill changed (call after the change committed). */
export function publishSkillsChanged(change: SkillsChange): void {
  const payload = JSON.stringify({ tenantId: change.tenantId, skillId: change.skillId, ownerId: change.ownerId });
  runInBackground('skills.change_signal', () => pool().query('SELECT pg_notify($1, $2)', [CHANNEL, payload]));
}

/** Calls `listener` for every skill change in any process; returns the unsubscribe function. */
export function subscribeSkillsChanged(listener: SkillsChangeListener): () => void {
  state.listeners.add(listener);
  void state.connection.start();
  return () => {
    state.listeners.delete(listener);
    if (state.listeners.size === 0) void state.connection.stop();
  };
}

/**
 * Resolves once this process is listening while it has listeners, connecting again if
 * closeDatabase() ended the connection (tests: a signal published after this is delivered).
 */
export async function skillsChangesReady(): Promise<void> {
  if (state.listeners.size > 0) await state.connection.start();
}
