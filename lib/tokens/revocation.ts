import { channelListener, type ChannelListener } from '@/lib/db/listen';
import { MAX_REVOCATION_CACHE_MS, RETIRED_KEY_VERIFY_SECONDS, tokenSettings } from './config';
import { readRevocationChanges, readRevocationSnapshot, REVOCATION_CHANGES_KEPT_SECONDS, REVOCATION_CHANNEL, type RevocationCursor } from './revocation-repository';

/**
 * Access tokens are self-contained JWTs, so revoking a sign-in needs a second look: the verifier
 * checks every token against this process's view of disabled users and revoked sessions.
 *
 * The view is read in full once; after that only what changed is applied. The database notes
 * every change to a user's status or a sign-in's revocation (revocation_changes, by trigger) and
 * notifies at commit; this process listens and reads the changes since its last read at once. A
 * notification can be lost (the listening connection drops and reconnects), so the same read
 * also runs on every reconnection and in the background at least twice per bound
 * (GATEHOUSE_REVOCATION_CACHE_MS, at most 5 s). Every ten minutes, and whenever the saved position
 * is ahead of the database's transaction ids (a restore), the read is a full one instead, for what
 * the noted changes cannot show. Checks use the view without waiting while a read
 * confirmed it within the bound; a view older than that (the database unreachable) makes the
 * check wait for a read, and fail with its error, as it did when the view was reloaded whole.
 */
export interface RevocationView {
  disabledUsers: ReadonlySet<string>;
  /** Revoked sign-ins a live token may still name, with when each was revoked (ms since epoch). */
  revokedSessions: ReadonlyMap<string, number>;
}

/** How this process has kept its view (operators, tests). */
export interface RevocationViewStats {
  fullReads: number;
  changeReads: number;
  /** Notifications received (any process's changes, this one's included). */
  notifications: number;
}

interface RevocationState {
  boundMs?: number;
  disabledUsers: Set<string>;
  revokedSessions: Map<string, number>;
  view?: RevocationView;
  cursor?: RevocationCursor;
  // Times on the monotonic clock (performance.now()): a wall clock set back must not stretch the bound.
  /** When the last read that counts as confirming the view began (-Infinity: must read before use). */
  confirmedAt: number;
  /** When the last successful full read began. */
  fullReadAt: number;
  /** How often a full read replaces the view whatever the changes said (tests shorten it). */
  fullReadEveryMs: number;
  prunedAt: number;
  /** Bumped by invalidateRevocationCache: a read begun before it does not confirm the view. */
  generation: number;
  /** The end of the chain of reads; reads run one after another, never side by side. */
  tail: Promise<void>;
  /** A read scheduled but not begun: callers needing a fresh read share it. */
  waiting?: Promise<void>;
  listener?: ChannelListener;
  heartbeat?: NodeJS.Timeout;
  stats: RevocationViewStats;
}

// The backstop: every ten minutes the view is read whole, whatever the changes said. It catches
// what the noted changes cannot show: writes that skip triggers (session_replication_role =
// replica, DISABLE TRIGGER, TRUNCATE), a change row pruned before it was read (changed_at is the
// writing transaction's start), and transaction ids reused after a restore. Changes are kept
// over a day, so a process that could not read for longer than this reads everything again anyway.
const FULL_READ_EVERY_MS = Math.min(10 * 60_000, (REVOCATION_CHANGES_KEPT_SECONDS * 1000) / 2);
const PRUNE_EVERY_MS = 60_000;
const MIN_HEARTBEAT_MS = 100;

const globalState = globalThis as typeof globalThis & { __gatehouseRevocation?: RevocationState };

function state(): RevocationState {
  globalState.__gatehouseRevocation ??= {
    disabledUsers: new Set(),
    revokedSessions: new Map(),
    confirmedAt: -Infinity,
    fullReadAt: -Infinity,
    fullReadEveryMs: FULL_READ_EVERY_MS,
    prunedAt: 0,
    generation: 0,
    tail: Promise.resolve(),
    stats: { fullReads: 0, changeReads: 0, notifications: 0 },
  };
  return globalState.__gatehouseRevocation;
}

function boundMs(): number {
  const current = state();
  current.boundMs ??= tokenSettings().GATEHOUSE_REVOCATION_CACHE_MS;
  return current.boundMs;
}

/** Sets how long the view may go unconfirmed before a check waits for a read (0 = every check reads); at most five seconds. */
export function setRevocationCacheTtl(ms: number): void {
  state().boundMs = Math.max(0, Math.min(MAX_REVOCATION_CACHE_MS, Math.floor(ms)));
  const current = state();
  if (current.heartbeat) {
    clearTimeout(current.heartbeat);
    current.heartbeat = undefined;
    scheduleHeartbeat();
  }
}

/** This process changed a user or a sign-in: its next check waits for a read that sees the change. */
export function invalidateRevocationCache(): void {
  const current = state();
  current.generation += 1;
  current.confirmedAt = -Infinity;
}

/** Sets how often the view is read whole whatever the changes said (tests; ten minutes by default). */
export function setRevocationFullReadInterval(ms: number): void {
  state().fullReadEveryMs = Math.max(0, Math.min(FULL_READ_EVERY_MS, Math.floor(ms)));
}

export function revocationViewStats(): RevocationViewStats {
  return { ...state().stats };
}

function dropExpired(now: number): void {
  const current = state();
  if (now - current.prunedAt < PRUNE_EVERY_MS) return;
  current.prunedAt = now;
  const oldest = now - RETIRED_KEY_VERIFY_SECONDS * 1000;
  for (const [sessionId, revokedAt] of current.revokedSessions) if (revokedAt <= oldest) current.revokedSessions.delete(sessionId);
}

async function readFull(startedAt: number): Promise<void> {
  const current = state();
  const snapshot = await readRevocationSnapshot();
  current.stats.fullReads += 1;
  current.disabledUsers = new Set(snapshot.disabledUsers);
  current.revokedSessions = new Map(snapshot.revokedSessions);
  current.view = { disabledUsers: current.disabledUsers, revokedSessions: current.revokedSessions };
  current.cursor = snapshot.cursor;
  current.fullReadAt = startedAt;
}

async function readChanges(cursor: RevocationCursor, startedAt: number): Promise<void> {
  const current = state();
  const changes = await readRevocationChanges(cursor);
  current.stats.changeReads += 1;
  if (changes.cursorAhead) {
    console.error(`revocation: the saved position ${cursor} is ahead of the database's transactions (restored or replaced?); reading everything again`);
    await readFull(startedAt);
    return;
  }
  for (const [userId, disabled] of changes.users) {
    if (disabled) current.disabledUsers.add(userId);
    else current.disabledUsers.delete(userId);
  }
  for (const [sessionId, revokedAt] of changes.sessions) {
    if (revokedAt === null) current.revokedSessions.delete(sessionId);
    else current.revokedSessions.set(sessionId, revokedAt);
  }
  current.cursor = changes.cursor;
}

async function readOnce(): Promise<void> {
  const current = state();
  const startedAt = performance.now();
  const generation = current.generation;
  if (!current.view || !current.cursor || startedAt - current.fullReadAt >= current.fullReadEveryMs) await readFull(startedAt);
  else await readChanges(current.cursor, startedAt);
  if (current.generation === generation) current.confirmedAt = startedAt;
  // Revocation times come from the database's clock, so expiry is judged by the wall clock.
  dropExpired(Date.now());
}

/** A read that begins after this call (shared with other callers waiting for one). */
function freshRead(): Promise<void> {
  const current = state();
  if (current.waiting) return current.waiting;
  const read = current.tail.then(() => {
    current.waiting = undefined;
    return readOnce();
  });
  current.waiting = read;
  current.tail = read.catch(() => undefined);
  return read;
}

function readInBackground(why: string): void {
  freshRead().catch((error: Error) => console.error(`revocation: reading changes (${why}) failed: ${error.message}`));
}

function scheduleHeartbeat(): void {
  const current = state();
  const bound = boundMs();
  // With a zero bound every check reads anyway.
  if (current.heartbeat || bound === 0) return;
  current.heartbeat = setTimeout(() => {
    current.heartbeat = undefined;
    // closeDatabase() ended the listener: stop with it; the first check that finds the view
    // older than the bound starts both again.
    if (!current.listener?.active()) return;
    readInBackground('periodic');
    scheduleHeartbeat();
  }, Math.max(MIN_HEARTBEAT_MS, Math.floor(bound / 2)));
  current.heartbeat.unref();
}

function follow(): void {
  const current = state();
  current.listener ??= channelListener({
    channel: REVOCATION_CHANNEL,
    label: 'revocation',
    onNotification: () => {
      current.stats.notifications += 1;
      readInBackground('notified');
    },
    // Whatever was notified while the connection was down is read here.
    onListening: () => readInBackground('listening'),
  });
  if (!current.listener.active()) void current.listener.start();
  scheduleHeartbeat();
}

/** Resolves once this process listens for revocation changes (tests: a change after this is notified). */
export async function revocationChangesReady(): Promise<void> {
  await revocationView();
  await state().listener?.start();
}

/**
 * The view to check a token against. Returns at once while a read confirmed the view within the
 * bound; otherwise waits for a read and throws its error (the check fails closed).
 */
export async function revocationView(): Promise<RevocationView> {
  const current = state();
  if (current.view && performance.now() - current.confirmedAt < boundMs()) return current.view;
  follow();
  await freshRead();
  return current.view!;
}
