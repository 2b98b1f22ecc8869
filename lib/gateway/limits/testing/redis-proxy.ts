// Test support: a TCP proxy on 127.0.0.1 in front of a real Redis that can hold back or swallow
// its replies and drop its clients' connections, so the limits' behaviour when a command times
// out, or is resent by ioredis after a reconnect, can be reproduced exactly rather than hoped for
// on a loaded machine. Commands always reach Redis in the order they were sent.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ReplyMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'swallow' };

export interface RedisProxy {
  /** A redis:// URL that reaches Redis through the proxy. */
  url: string;
  /** What happens to replies from now on (replies already held keep their fate). */
  replies(mode: ReplyMode): void;
  /** Drops every client connection, as a network fault would; the clients reconnect through the proxy. */
  cut(): void;
  /** How many client connections the proxy has accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startRedisProxy(redisUrl: string): Promise<RedisProxy> {
  const target = new URL(redisUrl);
  let mode: ReplyMode = { kind: 'pass' };
  let connections = 0;
  const pairs = new Set<{ client: Socket; redis: Socket }>();

  const server: Server = createServer((client) => {
    connections += 1;
    const redis = createConnection({ host: target.hostname, port: Number(target.port || 6379) });
    const pair = { client, redis };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      redis.destroy();
    };
    client.on('error', drop).on('close', drop);
    redis.on('error', drop).on('close', drop);
    client.pipe(redis);
    // A reply is never passed on before one Redis sent earlier, whatever the mode did meanwhile.
    let lastDueAt = 0;
    redis.on('data', (chunk: Buffer) => {
      const current = mode;
      if (current.kind === 'swallow') return;
      const dueAt = Math.max(Date.now() + (current.kind === 'delay' ? current.ms : 0), lastDueAt);
      lastDueAt = dueAt;
      if (dueAt <= Date.now()) client.write(chunk);
      else setTimeout(() => client.writable && client.write(chunk), dueAt - Date.now());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the Redis proxy has no TCP address');
  const database = target.pathname && target.pathname !== '/' ? target.pathname : '';

  const cut = () => {
    for (const pair of [...pairs]) {
      pair.client.destroy();
      pair.redis.destroy();
    }
  };
  return {
    url: `redis://127.0.0.1:${address.port}${database}`,
    replies(next) {
      mode = next;
    },
    cut,
    get connections() {
      return connections;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
