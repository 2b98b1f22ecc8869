import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareTestQueueBackend } from '@/lib/testing/database';
import { DEFAULT_REDIS_PREFIX, queueBackendFromEnv, type QueueBackendSettings } from './connection';
import { QueueClient, QueuePayloadError } from './client';
import { queueBackendReady } from './health';

const backends: [string, () => QueueBackendSettings][] = [
  ['redis', () => ({ kind: 'redis', url: 'redis://127.0.0.1:6379', prefix: `${process.env.GATEHOUSE_REDIS_PREFIX}-queue-test` })],
  ['postgres', () => ({ kind: 'postgres', databaseUrl: process.env.DATABASE_URL!, schema: 'bullmq_queue_test' })],
];

describe('queueBackendFromEnv', () => {
  it('prefers Redis when REDIS_URL is set, with the configured or default key prefix', () => {
    expect(queueBackendFromEnv({ REDIS_URL: 'redis://cache:6379', DATABASE_URL: 'postgres://db/g', GATEHOUSE_REDIS_PREFIX: 'run-1' })).toEqual({
      kind: 'redis',
      url: 'redis://cache:6379',
      prefix: 'run-1',
    });
    expect(queueBackendFromEnv({ REDIS_URL: 'redis://cache:6379' })).toMatchObject({ prefix: DEFAULT_REDIS_PREFIX });
  });

  it('falls back to the PostgreSQL backend on DATABASE_URL, and needs one of the two', () => {
    expect(queueBackendFromEnv({ DATABASE_URL: 'postgres://db/g' })).toEqual({ kind: 'postgres', databaseUrl: 'postgres://db/g' });
    expect(() => queueBackendFromEnv({})).toThrow(/set REDIS_URL, or DATABASE_URL/);
  });
});

describe.each(backends)('queue on %s', (backend, settings) => {
  const client = new QueueClient(settings());

  beforeAll(() => prepareTestQueueBackend(settings()));

  afterAll(async () => {
    await client.queue('housekeeping').obliterate({ force: true });
    await client.close();
  });

  it('reports the backend ready', async () => {
    expect(await queueBackendReady(settings())).toEqual({ ok: true, backend });
  });

  it('adds a valid payload with defaults applied and the queue’s job options', async () => {
    const job = await client.enqueue('housekeeping', { partitions_ahead: 1 });
    expect(job.data).toEqual({ trigger: 'manual', partitions_ahead: 1 });
    expect(job.opts.attempts).toBe(5);
    expect(await client.queue('housekeeping').getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('rejects a bad payload at enqueue, before it reaches the backend', async () => {
    const before = await client.queue('housekeeping').count();
    await expect(client.enqueue('housekeeping', { partitions_ahead: -1 })).rejects.toThrow(QueuePayloadError);
    // Written as a caller with stale types would: the schema, not the compiler, is the guard.
    const stale = { trigger: 'nightly', extra: true } as unknown as { trigger: 'manual' };
    await expect(client.enqueue('housekeeping', stale)).rejects.toThrow(
      /invalid payload for queue "housekeeping": .*trigger: .*; \(payload\): Unrecognized key: "extra"/,
    );
    expect(await client.queue('housekeeping').count()).toBe(before);
  });
});

describe('queueBackendReady', () => {
  it('reports an unreachable backend with the reason', async () => {
    const redis = await queueBackendReady({ kind: 'redis', url: 'redis://127.0.0.1:1', prefix: 'x' });
    expect(redis).toMatchObject({ ok: false, backend: 'redis' });
    expect(redis.error).toMatch(/ECONNREFUSED/);
    const postgres = await queueBackendReady({ kind: 'postgres', databaseUrl: 'postgres://postgres@127.0.0.1:1/none' });
    expect(postgres).toMatchObject({ ok: false, backend: 'postgres' });
    expect(postgres.error).toMatch(/ECONNREFUSED/);
  });
});
