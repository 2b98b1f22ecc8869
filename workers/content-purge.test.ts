import { randomBytes, randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvent, closeAuditWriter, loadContent, loadDocument, prepareSerialisedManifest, serialiseDocument, storeContent, verifyAuditChains, type ContentRef } from '@/lib/audit';
import { sampleEvent, superuserClient } from '@/lib/audit/testing/fixtures';
import { parseGatehouseConfig, type GatehouseConfig } from '@/lib/config';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { QueueClient, type AnyWorker } from '@/lib/queue';
import { CONTENT_PURGE_SCHEDULE, startContentPurge } from './jobs/content-purge';

const client = new QueueClient({ kind: 'redis', url: 'redis://127.0.0.1:6379', prefix: `${process.env.GATEHOUSE_REDIS_PREFIX}-content-purge-test` });
let config: GatehouseConfig;
let systemTenant: string;

/** Resolves with the outcome of the first job matching `match`, including one already finished. */
function outcomeOf(worker: AnyWorker) {
  const settled: { job: Job; result?: unknown; error?: Error }[] = [];
  const waiters: (() => void)[] = [];
  worker.on('completed', (job: Job, result: unknown) => (settled.push({ job, result }), waiters.splice(0).forEach((wake) => wake())));
  worker.on('failed', (job: Job | undefined, error: Error) => (job && settled.push({ job, error }), waiters.splice(0).forEach((wake) => wake())));
  return async (match: (job: Job) => boolean) => {
    for (;;) {
      const found = settled.find((entry) => match(entry.job));
      if (found) return found;
      await new Promise<void>((wake) => waiters.push(wake));
    }
  };
}

/** Plays the passage of time: makes the tenant's given rows expired. */
async function expire(tenant: string, sha256s: readonly string[]): Promise<void> {
  const admin = await superuserClient();
  try {
    await admin.query("UPDATE audit_content SET expires_at = now() - interval '1 hour' WHERE tenant_id = $1 AND encode(sha256, 'hex') = ANY($2)", [tenant, sha256s]);
  } finally {
    await admin.end();
  }
}

async function purgeEvents(): Promise<{ outcome: string; attributes: Record<string, unknown> }[]> {
  const { rows } = await pool().query<{ outcome: string; event: { attributes: Record<string, unknown> } }>(
    "SELECT outcome, event FROM audit_events WHERE tenant_id = $1 AND event_type = 'system.housekeeping' AND action = 'content.purge' ORDER BY seq",
    [systemTenant],
  );
  return rows.map((row) => ({ outcome: row.outcome, attributes: row.event.attributes }));
}

beforeAll(async () => {
  const slug = `content-purge-${randomBytes(3).toString('hex')}`;
  systemTenant = (await db().tenant.create({ data: { slug, name: 'Content purge test' } })).id;
  config = parseGatehouseConfig('audit: { content_retention_days: 30 }\n', 'gatehouse.yaml');
});

afterAll(async () => {
  await client.queue('content-purge').obliterate({ force: true });
  await client.close();
  await closeAuditWriter();
  await closeDatabase();
});

describe('content purge job', () => {
  it('deletes expired content only, keeps what is unexpired or referenced again, audits the run, and leaves every chain valid', async () => {
    const tenant = randomUUID();
    const text = (label: string) => `${label} ${randomUUID()}`;
    const store = (body: string, retention_days?: number): Promise<ContentRef> => storeContent({ tenant_id: tenant, kind: 'prompt', body, ...(retention_days ? { retention_days } : {}) });

    // A prompt stored with its event, as the gateway stores one: manifest and message links.
    const prompt = prepareSerialisedManifest(
      { tenant_id: tenant, kind: 'prompt', retention_days: 30 },
      serialiseDocument({ model: 'm', messages: [{ role: 'user', content: text('old prompt') }] }, { chains: ['messages'], parts: [] }),
    );
    await appendAuditEvent(sampleEvent(tenant, 1, { content_refs: [prompt.ref] }), { content: prompt.content });
    const expired = await store(text('expired'), 1);
    const unexpired = await store(text('unexpired'), 30);
    const forever = await store(text('kept for ever'));
    const referencedAgain = text('referenced again');
    const reReferenced = await store(referencedAgain, 1);
    await expire(tenant, [...prompt.content.map((row) => row.ref.sha256), expired.sha256, reReferenced.sha256]);
    // Referenced again after it expired but before the purge ran: its expiry moves forward.
    await store(referencedAgain, 30);
    await appendAuditEvent(sampleEvent(tenant, 2, { content_refs: [expired, unexpired, forever, reReferenced] }));
    const { rows: before } = await pool().query<{ n: number }>('SELECT count(*)::int AS n FROM audit_content WHERE tenant_id = $1', [tenant]);

    const worker = await startContentPurge(client, () => config, async () => systemTenant);
    const waitFor = outcomeOf(worker);
    const startup = await waitFor((job) => (job.data as { trigger?: string }).trigger === 'startup');
    expect(startup.error).toBeUndefined();
    // The manifest, its link, and the expired row; other test files' expired rows may go too.
    expect((startup.result as { purged: number }).purged).toBeGreaterThanOrEqual(3);

    const { rows: after } = await pool().query<{ n: number }>('SELECT count(*)::int AS n FROM audit_content WHERE tenant_id = $1', [tenant]);
    expect(before[0]!.n - after[0]!.n).toBe(3);
    expect(await loadContent(tenant, expired.sha256)).toBeNull();
    expect(await loadDocument(tenant, prompt.ref.sha256)).toBeNull();
    for (const kept of [unexpired, forever, reReferenced]) expect(await loadContent(tenant, kept.sha256)).not.toBeNull();

    const [event] = await purgeEvents();
    expect(event).toMatchObject({ outcome: 'success', attributes: { trigger: 'startup', purged: (startup.result as { purged: number }).purged, complete: true, retention_days: 30 } });
    expect(await client.queue('content-purge').getJobScheduler(CONTENT_PURGE_SCHEDULE.id)).toMatchObject({ pattern: CONTENT_PURGE_SCHEDULE.pattern });

    // Events only reference content by hash: purging it leaves the chains intact.
    expect((await verifyAuditChains(pool(), { tenantId: tenant })).ok).toBe(true);
    expect((await verifyAuditChains(pool(), { tenantId: systemTenant })).ok).toBe(true);

    // Bounded batches: a run stops after max_batches and says the purge is not complete.
    const many = await Promise.all(Array.from({ length: 5 }, () => store(text('batch'), 1)));
    await expire(tenant, many.map((ref) => ref.sha256));
    const bounded = await client.enqueue('content-purge', { batch_size: 2, max_batches: 1 });
    expect((await waitFor((job) => job.id === bounded.id)).result).toEqual({ purged: 2, batches: 1, complete: false });
    const rest = await client.enqueue('content-purge', { batch_size: 2 });
    expect((await waitFor((job) => job.id === rest.id)).result).toMatchObject({ complete: true });
    for (const ref of many) expect(await loadContent(tenant, ref.sha256)).toBeNull();
    expect((await purgeEvents()).map((run) => [run.attributes.trigger, run.attributes.complete])).toEqual([
      ['startup', true],
      ['manual', false],
      ['manual', true],
    ]);
  });
});
