/**
 * Skill change signals across every web process: a change is published with PostgreSQL NOTIFY on
 * one channel after its transaction committed, and each process that has listeners (the MCP
 * server's sessions) holds one LISTEN connection and hands each signal to them, its own included.
 * The signal carries ids only: listeners re-read what they need (listVisibleSkills).
 */
import pg from 'pg';
import { z } from 'zod';
import { databaseUrl, pool } from '@/lib/db/client';
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

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

interface ListenState {
  listeners: Set<SkillsChangeListener>;
  client: pg.Client | null;
  connecting: Promise<void> | null;
  retryMs: number;
  retryTimer: NodeJS.Timeout | null;
}

// On globalThis: Next's bundles and the data plane may load this module twice in one process.
const globalState = globalThis as typeof globalThis & { __gatehouseSkillsChangeSignals?: ListenState };
const state: ListenState = (globalState.__gatehouseSkillsChangeSignals ??= { listeners: new Set(), client: null, connecting: null, retryMs: RECONNECT_MIN_MS, retryTimer: null });

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

function scheduleReconnect(): void {
  if (state.retryTimer || state.listeners.size === 0) return;
  const delay = state.retryMs;
  state.retryMs = Math.min(RECONNECT_MAX_MS, state.retryMs * 2);
  state.retryTimer = setTimeout(() => {
    state.retryTimer = null;
    void connect();
  }, delay);
  state.retryTimer.unref();
}

async function connect(): Promise<void> {
  if (state.client || state.connecting || state.listeners.size === 0) return state.connecting ?? undefined;
  state.connecting = (async () => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    const lost = (error?: Error) => {
      if (state.client !== client) return;
      state.client = null;
      if (error) console.error(`skills: change signal connection lost (${error.message}); reconnecting`);
      client.end().catch(() => undefined);
      scheduleReconnect();
    };
    try {
      client.on('notification', (message) => {
        if (message.channel === CHANNEL) deliver(message.payload);
      });
      client.on('error', lost);
      client.on('end', () => lost());
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      state.client = client;
      state.retryMs = RECONNECT_MIN_MS;
      if (state.listeners.size === 0) await disconnect();
    } catch (error) {
      console.error(`skills: cannot listen for change signals: ${error instanceof Error ? error.message : String(error)}`);
      client.end().catch(() => undefined);
      scheduleReconnect();
    } finally {
      state.connecting = null;
    }
  })();
  return state.connecting;
}

async function disconnect(): Promise<void> {
  const client = state.client;
  state.client = null;
  if (state.retryTimer) clearTimeout(state.retryTimer);
  state.retryTimer = null;
  if (client) await client.end().catch(() => undefined);
}

/** Tells every process's listeners that a skill changed (call after the change committed). */
export function publishSkillsChanged(change: SkillsChange): void {
  const payload = JSON.stringify({ tenantId: change.tenantId, skillId: change.skillId, ownerId: change.ownerId });
  runInBackground('skills.change_signal', () => pool().query('SELECT pg_notify($1, $2)', [CHANNEL, payload]));
}

/** Calls `listener` for every skill change in any process; returns the unsubscribe function. */
export function subscribeSkillsChanged(listener: SkillsChangeListener): () => void {
  state.listeners.add(listener);
  void connect();
  return () => {
    state.listeners.delete(listener);
    if (state.listeners.size === 0) void disconnect();
  };
}

/** Resolves once this process is listening (tests: a signal published after this is delivered). */
export async function skillsChangesReady(): Promise<void> {
  await connect();
}
