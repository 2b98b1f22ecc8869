import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents, closeAuditWriter, loadCheckpointSigner, signCheckpoints, type AuditEventInput, type CheckpointSigner } from '@/lib/audit';
import { sampleEvent } from '@/lib/audit/testing/fixtures';
import { SIEM_SINK_TYPES, type SiemSinkType } from '@/lib/config';
import { closeDatabase, pool } from '@/lib/db/client';
import { forwardOnce, type ForwardRun } from './forwarder';
import { replaySince, retryDeadBatches, sinkHealth } from './repository';
import { parseGatehouseConfigObject } from './testing/config';
import { startFakeReceiver, type FakeReceiver } from './testing/receivers';

let signer: CheckpointSigner;
let keyDir: string;
const receivers: FakeReceiver[] = [];

beforeAll(async () => {
  keyDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-siem-'));
  signer = (await loadCheckpointSigner({ dataDir: keyDir, source: {}, create: true }))!;
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  // Sinks of a finished test must not be forwarded to by the next one's passes.
  await pool().query('UPDATE siem_sinks SET enabled = false');
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
  await rm(keyDir, { recursive: true, force: true });
});

const DEPARTMENTS = ['research', 'finance', undefined];

function events(tenant: string, count: number, extra: Partial<AuditEventInput> = {}): AuditEventInput[] {
  return Array.from({ length: count }, (_, n) => {
    const department = DEPARTMENTS[n % DEPARTMENTS.length];
    return sampleEvent(tenant, n, {
      event_type: n % 4 === 0 ? 'policy.decision' : 'inference.request',
      action: n % 4 === 0 ? 'policy.evaluate' : 'messages.create',
      outcome: n % 4 === 0 ? 'denied' : 'success',
      actor: { user_id: randomUUID(), email: `user${n}@example.com`, ...(department ? { department } : {}), roles: ['member'] },
      gen_ai: { operation: 'chat', provider: 'anthropic', request_model: 'claude-sonnet-4-5', input_tokens: 10 + n, output_tokens: 5 },
      ...(n % 4 === 0 ? { policy: { decision: 'block', rule: 'blocklist.term', reason: 'blocked: blocklist term `project-nightingale`' } } : {}),
      ...extra,
    });
  });
}

interface SinkOptions {
  [key: string]: unknown;
}

function configFor(sinks: { receiver: FakeReceiver; options?: SinkOptions }[]) {
  return parseGatehouseConfigObject({
    siem: {
      sinks: sinks.map(({ receiver, options }) => ({
        id: `${receiver.type.replace('_', '-')}-${sinks.indexOf(sinks.find((entry) => entry.receiver === receiver)!)}`,
        type: receiver.type,
        ...(receiver.type === 'sumo' ? { url_env: `SUMO_URL_${receivers.indexOf(receiver)}` } : { url: receiver.url, token_env: `TOKEN_${receivers.indexOf(receiver)}` }),
        base_delay_ms: 1,
        max_delay_ms: 5,
        ...options,
      })),
    },
  });
}

function envFor(): Record<string, string> {
  return Object.fromEntries(receivers.flatMap((receiver, index) => [[`TOKEN_${index}`, receiver.token], [`SUMO_URL_${index}`, receiver.url]]));
}

async function receiver(type: SiemSinkType): Promise<FakeReceiver> {
  const started = await startFakeReceiver(type);
  receivers.push(started);
  return started;
}

/** Forwarding passes until nothing is left to send now (batches waiting for a retry are waited for). */
async function forwardUntilIdle(tenantId: string, config: ReturnType<typeof configFor>, maxPasses = 200): Promise<ForwardRun> {
  const total: ForwardRun = { cut: 0, delivered: 0, retried: 0, dead: 0, records: 0 };
  for (let pass = 0; pass < maxPasses; pass++) {
    const run = await forwardOnce({ database: pool(), config, tenantId, env: envFor(), leaseMs: 5_000 });
    for (const key of Object.keys(total) as (keyof ForwardRun)[]) total[key] += run[key];
    const { rows } = await pool().query<{ open: number }>(
      `SELECT count(*)::int AS open FROM siem_batches b JOIN siem_sinks s ON s.id = b.sink_id WHERE s.tenant_id = $1 AND s.enabled AND b.status IN ('pending', 'delivering')`,
      [tenantId],
    );
    if (rows[0]!.open === 0 && run.cut === 0) return total;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('forwarding did not settle');
}

async function startSinksAt(tenantId: string, config: ReturnType<typeof configFor>): Promise<void> {
  // The first pass creates the sinks at the chain head: only what comes after is theirs.
  await forwardOnce({ database: pool(), config, tenantId, env: envFor() });
}

describe('SIEM forwarding', () => {
  it('delivers every event and the signed checkpoint to each vendor in its own wire format', async () => {
    const tenant = randomUUID();
    const all = await Promise.all(SIEM_SINK_TYPES.map((type) => receiver(type)));
    // Small requests, so every vendor's chunking and framing of several requests is exercised.
    const config = configFor(all.map((entry) => ({ receiver: entry, options: { max_batch_events: 7 } })));
    await startSinksAt(tenant, config);
    const appended = await appendAuditEvents(events(tenant, 40));
    await signCheckpoints(pool(), signer, { tenantIds: [tenant] });

    await forwardUntilIdle(tenant, config);
    for (const entry of all) {
      expect(entry.problems, entry.type).toEqual([]);
      for (const event of appended) expect(entry.stored.get(event.event_id), `${entry.type} ${event.event_id}`).toBeGreaterThanOrEqual(1);
      const checkpoint = entry.docs.find((doc) => doc.event_type === 'audit.checkpoint');
      expect(checkpoint?.doc.checkpoint, entry.type).toMatchObject({ number: 1, seq: 40, key_id: signer.keyId });
      // Requests stayed within the count asked for: 41 records in requests of at most 7.
      expect(entry.requests, entry.type).toBeGreaterThanOrEqual(6);
    }
    const elastic = all.find((entry) => entry.type === 'elastic')!;
    const blocked = elastic.docs.find((doc) => doc.event_type === 'policy.decision')!;
    expect(blocked.doc).toMatchObject({ policy: { rule: 'blocklist.term' }, integrity: { chain_id: tenant, alg: 'sha256' } });
    const health = await sinkHealth(pool(), tenant);
    expect(health.map((sink) => [sink.type, sink.lag_events, sink.dead_batches])).toEqual(
      expect.arrayContaining(SIEM_SINK_TYPES.map((type) => [type, 0, 0])),
    );
  });

  it('rides out 429, 503, timeouts, partial bulk failures and HEC invalid events: everything arrives at least once', async () => {
    const tenant = randomUUID();
    const [splunk, elastic, datadog, sumo, webhook, otlp] = await Promise.all(SIEM_SINK_TYPES.map((type) => receiver(type)));
    splunk!.faults.push({ kind: 'status', status: 503 }, { kind: 'hec_invalid', from: 3 }, { kind: 'status', status: 429, retryAfter: '0' });
    elastic!.faults.push({ kind: 'partial', failItems: [1, 4] }, { kind: 'status', status: 429 }, { kind: 'partial', failItems: [0] });
    datadog!.faults.push({ kind: 'hang' }, { kind: 'status', status: 503 });
    sumo!.faults.push({ kind: 'status', status: 429 }, { kind: 'hang' });
    webhook!.faults.push({ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'status', status: 429 });
    otlp!.faults.push({ kind: 'hang' }, { kind: 'status', status: 503 });
    const config = configFor([splunk!, elastic!, datadog!, sumo!, webhook!, otlp!].map((entry) => ({ receiver: entry, options: { max_batch_events: 10, timeout_ms: 400 } })));
    await startSinksAt(tenant, config);
    const appended = await appendAuditEvents(events(tenant, 25));

    const run = await forwardUntilIdle(tenant, config);
    expect(run.retried).toBeGreaterThan(0);
    expect(run.dead).toBe(0);
    for (const entry of receivers) {
      expect(entry.problems, entry.type).toEqual([]);
      expect(entry.faults, `${entry.type} faults all used`).toEqual([]);
      for (const event of appended) expect(entry.stored.get(event.event_id), `${entry.type} ${event.event_id}`).toBeGreaterThanOrEqual(1);
    }
    // Elastic's create with _id = event_id: a redelivered item is a 409, counted as stored, not stored twice.
    expect(elastic!.docs.filter((doc) => doc.event_type !== 'audit.checkpoint')).toHaveLength(25);
  });

  it('makes a dead letter after the retry budget, audits it, and delivers it when retried', async () => {
    const tenant = randomUUID();
    const webhook = await receiver('webhook');
    webhook.faults.push(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 503 as const })));
    const config = configFor([{ receiver: webhook, options: { max_attempts: 3 } }]);
    await startSinksAt(tenant, config);
    const appended = await appendAuditEvents(events(tenant, 5));

    const run = await forwardUntilIdle(tenant, config);
    expect(run.dead).toBe(1);
    for (const event of appended) expect(webhook.stored.has(event.event_id)).toBe(false);
    // The dead-letter event is appended by the pass that gave up, after that pass cut its batches:
    // the next pass forwards it.
    await forwardUntilIdle(tenant, config);
    let [health] = await sinkHealth(pool(), tenant);
    // The five events wait as a dead letter; the dead-letter event recorded after them went through.
    expect(health).toMatchObject({ dead_batches: 1, dead_events: 5, lag_events: 5 });
    expect(health!.last_error).toContain('HTTP 503');
    const { rows } = await pool().query<{ event: { action: string; target: { name: string } } }>(
      `SELECT event FROM audit_events WHERE tenant_id = $1 AND action = 'siem.dead_letter'`,
      [tenant],
    );
    expect(rows.map((row) => row.event.target.name)).toEqual([health!.name]);

    expect(await retryDeadBatches(pool(), tenant, health!.id)).toBe(1);
    await forwardUntilIdle(tenant, config);
    for (const event of appended) expect(webhook.stored.get(event.event_id)).toBe(1);
    expect(webhook.docs.filter((doc) => doc.doc.action === 'siem.dead_letter')).toHaveLength(1);
    [health] = await sinkHealth(pool(), tenant);
    expect(health).toMatchObject({ dead_batches: 0, lag_events: 0 });
  });

  it('replays a time range: every event in it is delivered again with the same event_id', async () => {
    const tenant = randomUUID();
    const webhook = await receiver('webhook');
    const config = configFor([{ receiver: webhook }]);
    await startSinksAt(tenant, config);
    const since = new Date(Date.now() - 1_000);
    const appended = await appendAuditEvents(events(tenant, 12));
    await forwardUntilIdle(tenant, config);
    expect([...webhook.stored.values()].every((count) => count === 1)).toBe(true);

    const [health] = await sinkHealth(pool(), tenant);
    expect(await replaySince(pool(), tenant, health!.id, since, 5)).toEqual({ batches: 3, events: 12 });
    await forwardUntilIdle(tenant, config);
    for (const event of appended) expect(webhook.stored.get(event.event_id)).toBe(2);
  });

  it('sends only the filtered event types and departments, without the redacted fields', async () => {
    const tenant = randomUUID();
    const webhook = await receiver('webhook');
    const config = configFor([
      { receiver: webhook, options: { filter: { event_types: ['inference.request'], departments: ['research'] }, redact: ['actor.email', 'gen_ai.input_tokens'], checkpoints: false } },
    ]);
    await startSinksAt(tenant, config);
    const appended = await appendAuditEvents(events(tenant, 24));
    await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    await forwardUntilIdle(tenant, config);

    const expected = appended.filter((event) => event.event_type === 'inference.request' && event.actor?.department === 'research');
    expect(expected.length).toBeGreaterThan(0);
    expect([...webhook.stored.keys()].sort()).toEqual(expected.map((event) => event.event_id).sort());
    for (const { doc } of webhook.docs) {
      expect(doc.actor).not.toHaveProperty('email');
      expect(doc.gen_ai).not.toHaveProperty('input_tokens');
      expect(doc.gen_ai).toHaveProperty('output_tokens', 5);
    }
  });

  it('loses nothing when the worker is killed with SIGKILL mid-send', async () => {
    const tenant = randomUUID();
    const webhook = await receiver('webhook');
    // The first request never gets an answer: the child is killed while it waits for one.
    webhook.faults.push({ kind: 'hang' });
    const config = configFor([{ receiver: webhook, options: { max_batch_events: 5, timeout_ms: 60_000 } }]);
    await startSinksAt(tenant, config);
    const appended = await appendAuditEvents(events(tenant, 30));

    const rawConfig = { siem: { sinks: config.siem.sinks } };
    const child = spawn('npx', ['tsx', 'lib/siem/testing/forward-child.ts', tenant, JSON.stringify(rawConfig), '1500'], {
      env: { ...process.env, ...envFor() },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    webhook.onRequest = () => {
      webhook.onRequest = undefined;
      process.kill(-child.pid!, 'SIGKILL');
    };
    expect(await exited).toBe('SIGKILL');
    const { rows } = await pool().query<{ status: string }>(
      `SELECT b.status FROM siem_batches b JOIN siem_sinks s ON s.id = b.sink_id WHERE s.tenant_id = $1 AND b.kind = 'events'`,
      [tenant],
    );
    expect(rows.map((row) => row.status)).toEqual(['delivering']);

    // Once the dead worker's lease lapses, another worker takes the batch over.
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await forwardUntilIdle(tenant, config);
    expect(webhook.problems).toEqual([]);
    for (const event of appended) expect(webhook.stored.get(event.event_id), event.event_id).toBeGreaterThanOrEqual(1);
  });
});
