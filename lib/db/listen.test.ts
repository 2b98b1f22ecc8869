import { afterAll, describe, expect, it, vi } from 'vitest';
import { closeDatabase, pool } from './client';
import { channelListener, listenerApplicationName } from './listen';

const CHANNEL = 'gatehouse_listen_test';

async function listeningConnections(): Promise<number> {
  const { rows } = await pool().query<{ count: number }>(
    'SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
    [listenerApplicationName(CHANNEL)],
  );
  return rows[0]!.count;
}

afterAll(async () => {
  await closeDatabase();
});

describe('channel listener', () => {
  it('delivers notifications, and stop() ends a connection still being opened', async () => {
    const received: (string | undefined)[] = [];
    const listener = channelListener({ channel: CHANNEL, label: 'test', onNotification: (payload) => received.push(payload) });
    await listener.start();
    expect(await listeningConnections()).toBe(1);
    await pool().query('SELECT pg_notify($1, $2)', [CHANNEL, 'hello']);
    await vi.waitFor(() => expect(received).toEqual(['hello']), { timeout: 4_000, interval: 20 });
    await listener.stop();
    await vi.waitFor(async () => expect(await listeningConnections()).toBe(0), { timeout: 4_000, interval: 20 });

    // Stopped while connecting: the connection is ended, not left listening.
    const starting = listener.start();
    await listener.stop();
    expect(listener.active()).toBe(false);
    await vi.waitFor(async () => expect(await listeningConnections()).toBe(0), { timeout: 1_000, interval: 20 });
    await starting;
    // And it can start again afterwards.
    await listener.start();
    expect(await listeningConnections()).toBe(1);
    await listener.stop();
  });
});
