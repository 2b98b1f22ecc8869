import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { parseGatehouseConfig, type GatehouseConfig } from '@/lib/config';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { QueueClient, type AnyWorker, type QueueBackendSettings } from '@/lib/queue';
import { prepareTestQueueBackend } from '@/lib/testing/database';
import { RETIRED_KEY_VERIFY_SECONDS } from '@/lib/tokens/config';
import { REVOCATION_CHANGES_KEPT_SECONDS } from '@/lib/tokens/revocation-repository';
import { HOUSEKEEPING_SCHEDULE, startHousekeeping } from './jobs/housekeeping';

/** Collects job outcomes from the moment it is attached, so a fast job cannot finish unseen. */
function outcomes(worker: AnyWorker) {
  const settled: { job: Job; result?: unknown; error?: Error }[] = [];
  const waiters: (() => void)[] = [];
  const notify = () => waiters.splice(0).forEach((wake) => wake());
  worker.on('completed', (job: Job, result: unknown) => (settled.push({ job, result }), notify()));
  worker.on('failed', (job: Job | undefined, error: Error) => (job && settled.push({ job, error }), notify()));
  return async function waitFor(match: (job: Job) => boolean) {
    for (;;) {
      const found = settled.find((entry) => match(entry.job));
      if (found) return found;
      await new Promise<void>((wake) => waiters.push(wake));
    }
  };
}

async function partitionName(monthsAhead: number): Promise<string> {
  const { rows } = await pool().query<{ name: string }>(
    `SELECT 'audit_events_' || to_char((now() + make_interval(months => $1::int)) AT TIME ZONE 'UTC', 'YYYY_MM') AS name`,
    [monthsAhead],
  );
  return rows[0]!.name;
}

async function partitionExists(name: string): Promise<boolean> {
  const { rows } = await pool().query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [name]);
  return rows[0]!.exists;
}

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

// Each backend ensures partitions further ahead than the one before, so each run has a partition
// of its own to create and the test shows that this backend's job created it.
const backends: [string, number, () => QueueBackendSettings][] = [
  ['redis', 5, () => ({ kind: 'redis', url: 'redis://127.0.0.1:6379', prefix: `${process.env.GATEHOUSE_REDIS_PREFIX}-housekeeping-test` })],
  ['postgres', 6, () => ({ kind: 'postgres', databaseUrl: process.env.DATABASE_URL!, schema: 'bullmq_housekeeping_test' })],
];

describe.each(backends)('housekeeping on %s', (backend, monthsAhead, settings) => {
  const client = new QueueClient(settings());
  let config: GatehouseConfig;
  let tenantId: string;
  let waitFor: ReturnType<typeof outcomes>;

  beforeAll(() => prepareTestQueueBackend(settings()));

  afterAll(async () => {
    await client.queue('housekeeping').obliterate({ force: true });
    await client.close();
  });

  it('starts: schedules the hourly run and ensures the configured partitions at once', async () => {
    const slug = `housekeeping-${backend}-${randomBytes(3).toString('hex')}`;
    tenantId = (await db().tenant.create({ data: { slug, name: 'Housekeeping test' } })).id;
    config = parseGatehouseConfig('audit: { partitions_ahead: 1 }\n', 'gatehouse.yaml');

    // Its system events go to a tenant of its own, so other files' runs do not mix in.
    const worker = await startHousekeeping(client, () => config, async () => tenantId);
    waitFor = outcomes(worker);
    const startup = await waitFor((job) => (job.data as { trigger?: string }).trigger === 'startup');
    expect(startup.error).toBeUndefined();
    expect(startup.result).toMatchObject({ partitions: [await partitionName(0), await partitionName(1)], prunedOAuthRows: expect.any(Number) });

    const scheduler = await client.queue('housekeeping').getJobScheduler(HOUSEKEEPING_SCHEDULE.id);
    expect(scheduler).toMatchObject({ pattern: HOUSEKEEPING_SCHEDULE.pattern });
  });

  it(`creates a partition ${monthsAhead} months ahead through the queue and records it in the audit trail`, async () => {
    const target = await partitionName(monthsAhead);
    expect(await partitionExists(target)).toBe(false);

    const job = await client.enqueue('housekeeping', { partitions_ahead: monthsAhead });
    const outcome = await waitFor((finished) => finished.id === job.id);
    expect(outcome.error).toBeUndefined();
    const { partitions } = outcome.result as { partitions: string[] };
    expect(partitions).toHaveLength(monthsAhead + 1);
    expect(partitions.at(-1)).toBe(target);
    expect(await partitionExists(target)).toBe(true);

    const { rows } = await pool().query<{ outcome: string; event: { attributes: Record<string, unknown> } }>(
      `SELECT outcome, event FROM audit_events
        WHERE tenant_id = $1 AND event_type = 'system.housekeeping' AND action = 'partition.ensure'
        ORDER BY seq`,
      [tenantId],
    );
    expect(rows.map((row) => row.outcome)).toEqual(['success', 'success']);
    expect(rows[0]!.event.attributes).toMatchObject({ trigger: 'startup', months_ahead: 1 });
    expect(rows[1]!.event.attributes).toMatchObject({ trigger: 'manual', months_ahead: monthsAhead, partitions: partitions.join(',') });
  });

  it('prunes noted revocation changes older than they are kept (past a retired key\'s verify time), and keeps younger ones', async () => {
    expect(REVOCATION_CHANGES_KEPT_SECONDS).toBeGreaterThan(RETIRED_KEY_VERIFY_SECONDS);
    const { rows: noted } = await pool().query<{ id: string; old: boolean }>(
      `INSERT INTO revocation_changes (subject, subject_id, changed_at)
       VALUES ('user', gen_random_uuid(), now() - make_interval(secs => $1::int + 1800)), ('user', gen_random_uuid(), now() - make_interval(secs => $2::int))
       RETURNING id::text, changed_at < now() - make_interval(secs => $1::int) AS old`,
      [REVOCATION_CHANGES_KEPT_SECONDS, RETIRED_KEY_VERIFY_SECONDS],
    );
    const job = await client.enqueue('housekeeping', { partitions_ahead: 1 });
    const outcome = await waitFor((finished) => finished.id === job.id);
    expect(outcome.error).toBeUndefined();
    const { rows: left } = await pool().query<{ id: string }>('SELECT id::text FROM revocation_changes WHERE id = ANY($1::bigint[])', [noted.map((row) => row.id)]);
    expect(left.map((row) => row.id)).toEqual(noted.filter((row) => !row.old).map((row) => row.id));
  });

  it('fails a job whose payload is invalid on receipt, without retrying it', async () => {
    // Written past enqueue()'s check, as an older build or a hand-made job would.
    const job = await client.queue('housekeeping').add('housekeeping', { partitions_ahead: 'lots' });
    const outcome = await waitFor((finished) => finished.id === job.id);
    expect(outcome.error?.message).toMatch(/invalid payload for queue "housekeeping": partitions_ahead/);
    expect(outcome.error?.name).toBe('UnrecoverableError');
    expect(outcome.job.attemptsMade).toBe(1);
  });
});
