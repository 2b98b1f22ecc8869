/**
 * One PostgreSQL LISTEN connection per channel and process, kept open while it is wanted and
 * reopened (with backoff) when it drops. A notification sent while the connection is down is
 * lost for good, so `onListening` runs after every (re)connection: that is where a user of the
 * channel catches up on what it may have missed.
 */
import pg from 'pg';
import { databaseUrl } from './client';
import { appPoolConfig } from './pool';

export interface ChannelListenerOptions {
  channel: string;
  /** Prefix of the log lines about this connection (`skills`, `revocation`). */
  label: string;
  onNotification(payload: string | undefined): void;
  /** Runs each time LISTEN is (again) in effect. */
  onListening?(): void;
}

export interface ChannelListener {
  /** Connects unless connected; resolves once listening or once this attempt failed (a retry is scheduled). */
  start(): Promise<void>;
  /** Closes the connection and stops retrying until the next start(). */
  stop(): Promise<void>;
  /** Whether start() was called and stop() was not since (connected or retrying). */
  active(): boolean;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
// A connection that only waits sends nothing: TCP keepalive finds one a firewall or failover
// dropped silently (without it the process would wait for notifications that never come).
const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

// Every listener this process opened, so closeDatabase() can end them with the pool.
const globalListeners = globalThis as typeof globalThis & { __gatehouseChannelListeners?: Set<ChannelListener> };
const openListeners = (globalListeners.__gatehouseChannelListeners ??= new Set());

/** The application_name of a listening connection: operators (and tests) can find it in pg_stat_activity. */
export function listenerApplicationName(channel: string, pid: number = process.pid): string {
  return `gatehouse listen ${channel} ${pid}`;
}

export function channelListener(options: ChannelListenerOptions): ChannelListener {
  if (!/^[a-z_][a-z0-9_]*$/.test(options.channel)) throw new Error(`not a plain channel name: ${options.channel}`);
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  /** The connection being set up once its handshake is done: stop() can end it while its LISTEN waits. */
  let opened: pg.Client | null = null;
  let wanted = false;
  let retryMs = RECONNECT_MIN_MS;
  let retryTimer: NodeJS.Timeout | null = null;

  function scheduleReconnect(): void {
    if (retryTimer || !wanted) return;
    const delay = retryMs;
    retryMs = Math.min(RECONNECT_MAX_MS, retryMs * 2);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, delay);
    retryTimer.unref();
  }

  function connect(): Promise<void> {
    if (client || !wanted) return Promise.resolve();
    connecting ??= (async () => {
      // The pool's settings: the same role, connect timeout and statement timeouts (waiting for
      // a notification is no statement, so they do not cut it short).
      const candidate = new pg.Client({
        ...appPoolConfig(databaseUrl(), 1),
        application_name: listenerApplicationName(options.channel),
        keepAlive: true,
        keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
      });
      const lost = (error?: Error) => {
        if (client !== candidate) return;
        client = null;
        if (error) console.error(`${options.label}: ${options.channel} connection lost (${error.message}); reconnecting`);
        candidate.end().catch(() => undefined);
        scheduleReconnect();
      };
      try {
        candidate.on('notification', (message) => {
          if (message.channel === options.channel) options.onNotification(message.payload);
        });
        candidate.on('error', lost);
        candidate.on('end', () => lost(new Error('connection ended')));
        await candidate.connect();
        opened = candidate;
        if (!wanted) throw new Error('stopped while connecting');
        await candidate.query(`LISTEN ${options.channel}`);
        if (!wanted) {
          await candidate.end().catch(() => undefined);
          return;
        }
        client = candidate;
        retryMs = RECONNECT_MIN_MS;
        options.onListening?.();
      } catch (error) {
        // A stop() meanwhile makes any failure moot.
        if (wanted) console.error(`${options.label}: cannot listen on ${options.channel}: ${error instanceof Error ? error.message : String(error)}`);
        candidate.end().catch(() => undefined);
        scheduleReconnect();
      } finally {
        if (opened === candidate) opened = null;
        connecting = null;
      }
    })();
    return connecting;
  }

  const listener: ChannelListener = {
    start() {
      wanted = true;
      openListeners.add(listener);
      return connect();
    },
    async stop() {
      wanted = false;
      openListeners.delete(listener);
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      const current = client;
      client = null;
      if (current) await current.end().catch(() => undefined);
      // A connection past its handshake is ended here, so a LISTEN that never answers cannot hold
      // stop() up. One still mid-handshake ends itself once open (it checks `wanted`): pg cannot
      // end it then (its connect() would never settle), and the connect timeout bounds the wait.
      const settingUp = opened;
      opened = null;
      if (settingUp) await settingUp.end().catch(() => undefined);
      await connecting;
    },
    active: () => wanted,
  };
  return listener;
}

/** Ends every listening connection of this process (closeDatabase calls it). */
export async function stopChannelListeners(): Promise<void> {
  await Promise.all([...openListeners].map((listener) => listener.stop()));
}
