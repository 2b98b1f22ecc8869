import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints, pinnedCheckpointKeys, verifyAuditChains } from '@/lib/audit';
import { sampleEvent } from '@/lib/audit/testing/fixtures';
import { AuditWriter } from '@/lib/audit/writer';
import { dropDatabase } from '@/lib/db/admin';
import { withDatabase } from '@/lib/db/connection';
import { createAppPool } from '@/lib/db/pool';
import { QueueClient } from '@/lib/queue';
import { createTestDatabase, type TestDatabase } from '@/lib/testing/database';
import { QUEUE_NAMES } from './queues';

let directory: string;
// The worker signs a checkpoint for every chain it finds, so it gets a database of its own
// rather than signing the chains other test files are busy appending to and tampering with.
const serverUrl = () => withDatabase(process.env.GATEHOUSE_TEST_SUPERUSER_URL!, 'postgres');
const databaseName = `gatehouse_test_worker_${randomBytes(4).toString('hex')}`;
let database: TestDatabase;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'gatehouse-worker-'));
  database = await createTestDatabase(serverUrl(), databaseName);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
  await dropDatabase(serverUrl(), databaseName);
});

interface Run {
  output: () => string;
  exit: Promise<number | null>;
  stop: (signal: NodeJS.Signals) => void;
  waitForLine: (pattern: RegExp) => Promise<void>;
}

/** Starts `tsx workers/main.ts` as the supervisor does, with only the variables given. */
function startWorker(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', GATEHOUSE_CONFIG: path.join(directory, 'gatehouse.yaml'), GATEHOUSE_DATA_DIR: path.join(directory, 'data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const listeners: (() => void)[] = [];
  const append = (chunk: Buffer) => {
    text += chunk.toString();
    listeners.forEach((check) => check());
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    output: () => text,
    exit,
    stop: (signal) => child.kill(signal),
    waitForLine: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = () => pattern.test(text) && resolve();
        listeners.push(check);
        check();
        void exit.then((code) => reject(new Error(`worker exited (${code}) before printing ${pattern}:\n${text}`)));
      }),
  };
}

describe('worker process', () => {
  it('starts on the PostgreSQL backend without REDIS_URL, signs checkpoints at start and at shutdown, and stops cleanly on SIGTERM', async () => {
    const appPool = createAppPool(database.appUrl, 2);
    const writer = new AuditWriter(appPool);
    const tenant = randomUUID();
    try {
      await writer.appendMany([0, 1, 2].map((n) => sampleEvent(tenant, n)));
      const worker = startWorker({ DATABASE_URL: database.appUrl });
      await worker.waitForLine(/^worker: ready \(queue backend: postgres\)$/m);
      // The startup run signs the chain as it was; events after it are signed on the way out.
      const deadline = Date.now() + 10_000;
      while ((await listCheckpoints(appPool, tenant)).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await writer.appendMany([3, 4].map((n) => sampleEvent(tenant, n)));
      worker.stop('SIGTERM');
      expect(await worker.exit).toBe(0);
      expect(worker.output()).toMatch(/config: .*gatehouse\.yaml not found, using defaults \(pv_[0-9a-f]{16}\)/);
      expect(worker.output()).toMatch(/^worker: signing audit checkpoints with key [0-9a-f]{16} \(.*checkpoint-key\.pem\)$/m);
      expect(worker.output()).toMatch(/^worker: checkpoints at shutdown: 1 signed, 0 unchanged$/m);
      expect(worker.output()).toContain('worker: stopped');

      expect((await listCheckpoints(appPool, tenant)).map(({ number, seq }) => ({ number, seq }))).toEqual([{ number: 1, seq: 3 }, { number: 2, seq: 5 }]);
      const keyFile = path.join(directory, 'data', 'checkpoint-key.pem');
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const pinned = await pinnedCheckpointKeys({ dataDir: path.join(directory, 'data'), source: {} });
      expect((await verifyAuditChains(appPool, { tenantId: tenant, checkpoints: { pinned } })).ok).toBe(true);
    } finally {
      await writer.close();
      await appPool.end();
    }
  });

  it('uses Redis when REDIS_URL is set, and stops cleanly on SIGINT', async () => {
    const prefix = `${process.env.GATEHOUSE_REDIS_PREFIX}-main-test`;
    const worker = startWorker({ DATABASE_URL: database.appUrl, REDIS_URL: 'redis://127.0.0.1:6379', GATEHOUSE_REDIS_PREFIX: prefix });
    try {
      await worker.waitForLine(/^worker: ready \(queue backend: redis\)$/m);
      worker.stop('SIGINT');
      expect(await worker.exit).toBe(0);
    } finally {
      // The schedules stay in Redis after a clean stop, as they should; remove this run's.
      const client = new QueueClient({ kind: 'redis', url: 'redis://127.0.0.1:6379', prefix });
      for (const name of QUEUE_NAMES) await client.queue(name).obliterate({ force: true });
      await client.close();
    }
  });

  it('refuses to start with a superuser database login, in one line that says how to fix it', async () => {
    const worker = startWorker({ DATABASE_URL: database.superuserUrl });
    expect(await worker.exit).toBe(1);
    const lines = worker.output().trim().split('\n').filter((line) => line.startsWith('worker: '));
    expect(lines).toEqual([
      expect.stringMatching(/^worker: database role: the app logs in as "[^"]+", a superuser, so it could rewrite the audit trail; give DATABASE_URL a least-privileged login role .* or set GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE=1 to run anyway$/),
    ]);
    expect(worker.output()).not.toContain('worker: ready');
  });

  it('refuses to start with an invalid environment, listing every problem', async () => {
    const worker = startWorker({ DATABASE_URL: 'mysql://nope', PORT: '0' });
    expect(await worker.exit).toBe(1);
    expect(worker.output()).toContain('DATABASE_URL: must be a URL like postgres://');
    expect(worker.output()).toContain('PORT: must be between 1 and 65535');
  });
});
