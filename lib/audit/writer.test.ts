import { randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, pool } from '@/lib/db/client';
import { withDatabase } from '@/lib/db/connection';
import { createAppPool } from '@/lib/db/pool';
import { drainBackgroundTasks, runInBackground } from '@/lib/platform/background';
import { appendAuditEvent, appendAuditEvents, auditWriter, closeAuditWriter, useAuditWriterOptions } from './append';
import { loadContent, prepareContent, type PreparedContent } from './content';
import { AuditEventValidationError } from './event';
import { sampleEvent } from './testing/fixtures';
import { verifyAuditChains } from './verify';
import { AuditWriteError, AuditWriter, type StoredAuditEvent } from './writer';

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

async function expectValidChain(tenant: string, events: number): Promise<void> {
  const report = await verifyAuditChains(pool(), { tenantId: tenant });
  expect(report.chains).toEqual([{ tenant_id: tenant, events, last_seq: events, ok: true }]);
}

function expectGapless(stored: StoredAuditEvent[]): void {
  expect(stored.map((event) => event.seq).sort((a, b) => a - b)).toEqual(stored.map((_, index) => index + 1));
}

describe('AuditWriter', () => {
  it('group-commits 1,000 concurrent appends across three tenants into valid chains', async () => {
    const tenants = [randomUUID(), randomUUID(), randomUUID()];
    const before = auditWriter().stats();
    const stored = await Promise.all(Array.from({ length: 1000 }, (_, i) => appendAuditEvent(sampleEvent(tenants[i % 3]!, i))));
    const after = auditWriter().stats();
    const events = after.events - before.events;
    const commits = after.commits - before.commits;
    console.log(`group commit: ${events} events in ${commits} commits (ratio ${(events / commits).toFixed(1)})`);
    expect(events).toBe(1000);
    expect(commits).toBeLessThan(events / 10);
    for (const tenant of tenants) {
      const own = stored.filter((event) => event.tenant_id === tenant);
      expectGapless(own);
      // Within one tenant, seq follows the order the calls were made in.
      expect(own.map((event) => event.attributes?.n)).toEqual([...own].sort((a, b) => a.seq - b.seq).map((event) => event.attributes?.n));
      await expectValidChain(tenant, own.length);
    }
  });

  it('group-commits callers that keep arriving while a transaction is in flight', async () => {
    const tenants = [randomUUID(), randomUUID()];
    const before = auditWriter().stats();
    // 50 request handlers, each recording 20 events one after another.
    const perCaller = await Promise.all(
      Array.from({ length: 50 }, async (_, caller) => {
        const mine: StoredAuditEvent[] = [];
        for (let i = 0; i < 20; i++) mine.push(await appendAuditEvent(sampleEvent(tenants[caller % 2]!, caller * 100 + i)));
        return mine;
      }),
    );
    const after = auditWriter().stats();
    const events = after.events - before.events;
    const commits = after.commits - before.commits;
    console.log(`group commit: ${events} events from 50 sequential callers in ${commits} commits (ratio ${(events / commits).toFixed(1)})`);
    expect(events).toBe(1000);
    expect(commits).toBeLessThan(events / 10);
    for (const tenant of tenants) await expectValidChain(tenant, 500);
    // Each caller's events are committed in the order it made them.
    for (const mine of perCaller) expect(mine.map((event) => event.seq)).toEqual([...mine.map((event) => event.seq)].sort((a, b) => a - b));
  });

  it('stores exactly the event it returns, with denormalised columns', async () => {
    const tenant = randomUUID();
    const userId = randomUUID();
    const stored = await appendAuditEvent(
      sampleEvent(tenant, 1, { event_type: 'inference.response', actor: { user_id: userId, roles: ['member'] }, session_id: 's-1', cost: { microdollars: 4200 } }),
    );
    const { rows } = await pool().query(
      `SELECT seq::int AS seq, event, event_type, action, outcome, trace_id, session_id, actor_user_id::text AS actor_user_id,
              cost_microdollars::int AS cost, schema_version, occurred_at
         FROM audit_events WHERE tenant_id = $1`,
      [tenant],
    );
    const { seq, ...event } = stored;
    expect(rows).toEqual([
      {
        seq,
        event,
        event_type: 'inference.response',
        action: 'messages.create',
        outcome: 'success',
        trace_id: event.trace_id,
        session_id: 's-1',
        actor_user_id: userId,
        cost: 4200,
        schema_version: 1,
        occurred_at: new Date(event.occurred_at),
      },
    ]);
  });

  it('keeps one valid chain when two processes append to the same tenant at once', async () => {
    const url = process.env.DATABASE_URL!;
    const pools = [createAppPool(url, 3), createAppPool(url, 3)];
    const writers = pools.map((each) => new AuditWriter(each));
    const tenant = randomUUID();
    try {
      const stored = await Promise.all(
        writers.map((writer, w) =>
          Promise.all(
            Array.from({ length: 10 }, async (_, caller) => {
              const mine: StoredAuditEvent[] = [];
              for (let i = 0; i < 20; i++) mine.push(await writer.append(sampleEvent(tenant, w * 10_000 + caller * 100 + i)));
              return mine;
            }),
          ).then((callers) => callers.flat()),
        ),
      );
      expectGapless(stored.flat());
      await expectValidChain(tenant, 400);
      // Both writers committed many transactions, interleaved on the one chain.
      const [a, b] = stored.map((events) => events.map((event) => event.seq));
      expect(Math.min(...a!)).toBeLessThan(Math.max(...b!));
      expect(Math.min(...b!)).toBeLessThan(Math.max(...a!));
      expect(writers.every((writer) => writer.stats().commits > 2)).toBe(true);
    } finally {
      for (const writer of writers) await writer.close();
      for (const each of pools) await each.end();
    }
  });

  it('rejects invalid input at once and queues nothing from a batch with one bad event', async () => {
    const tenant = randomUUID();
    const before = auditWriter().stats();
    await expect(appendAuditEvent({ ...sampleEvent(tenant, 1), outcome: 'fine' as 'success' })).rejects.toBeInstanceOf(AuditEventValidationError);
    await expect(appendAuditEvents([sampleEvent(tenant, 1), { ...sampleEvent(tenant, 2), tenant_id: 'nope' }])).rejects.toThrow(/tenant_id/);
    expect(auditWriter().stats()).toEqual(before);
    const { rows } = await pool().query('SELECT 1 FROM audit_events WHERE tenant_id = $1', [tenant]);
    expect(rows).toEqual([]);
  });

  it('rejects only the event the database refuses, never its batch-mates', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool());
    // Same event_id and occurred_at twice: the second collides with the first on the primary key.
    const duplicate = sampleEvent(tenant, 2, { event_id: uuidv7(), occurred_at: new Date().toISOString() });
    const results = await Promise.allSettled([
      writer.append(sampleEvent(tenant, 1)),
      writer.append(duplicate),
      writer.append(duplicate),
      writer.append(sampleEvent(tenant, 3)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const refused = results[2] as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(AuditWriteError);
    expect((refused.reason as Error).message).toMatch(/duplicate key/);
    expect(writer.stats()).toMatchObject({ events: 3, failed: 1 });
    await expectValidChain(tenant, 3);
    await writer.close();
  });

  it('commits an event and its content in one transaction: a refused row sinks its event, never its batch-mates', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool());
    const content = (text: string): PreparedContent => prepareContent({ tenant_id: tenant, kind: 'prompt', body: `${text} ${randomUUID()}`, retention_days: 7 });
    const good = [content('first prompt'), content('third prompt')];
    // A row whose sha256 is not its body's: the database refuses it, inside the event's transaction.
    const forged = content('second prompt');
    const lying = { ...forged, ref: { ...forged.ref, sha256: good[0]!.ref.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) } };
    const results = await Promise.allSettled([
      writer.append(sampleEvent(tenant, 1, { content_refs: [good[0]!.ref] }), { content: [good[0]!] }),
      writer.append(sampleEvent(tenant, 2, { content_refs: [lying.ref] }), { content: [lying] }),
      writer.append(sampleEvent(tenant, 3, { content_refs: [good[1]!.ref] }), { content: [good[1]!] }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = (results[1] as PromiseRejectedResult).reason as AuditWriteError;
    expect(refused).toBeInstanceOf(AuditWriteError);
    expect(refused.refusedByDatabase).toBe(true);
    expect(refused.message).toMatch(/sha256 is not the SHA-256 of its body/);

    const { rows } = await pool().query<{ n: number }>("SELECT (event->'attributes'->>'n')::int AS n FROM audit_events WHERE tenant_id = $1 ORDER BY seq", [tenant]);
    expect(rows.map((row) => row.n)).toEqual([1, 3]);
    for (const row of good) expect((await loadContent(tenant, row.ref.sha256))?.body).toBe(row.text);
    expect(await loadContent(tenant, lying.ref.sha256)).toBeNull();
    await expectValidChain(tenant, 2);

    // The other way round: an event the database refuses takes its content with it.
    const duplicate = sampleEvent(tenant, 4, { event_id: uuidv7(), occurred_at: new Date().toISOString() });
    const orphan = content('never without its event');
    await writer.append(duplicate);
    await expect(writer.append(duplicate, { content: [orphan] })).rejects.toThrow(/duplicate key/);
    expect(await loadContent(tenant, orphan.ref.sha256)).toBeNull();
    await writer.close();
  });

  it("refuses content that belongs to another tenant than its event's", async () => {
    const row = prepareContent({ tenant_id: randomUUID(), kind: 'prompt', body: 'elsewhere' });
    await expect(appendAuditEvent(sampleEvent(randomUUID(), 1), { content: [row] })).rejects.toThrow(/belongs to tenant/);
  });

  it('keeps a transaction within its content-byte cap, sending a larger event alone', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool(), { maxBatchContentBytes: 1_000 });
    const rows = Array.from({ length: 6 }, (_, i) => prepareContent({ tenant_id: tenant, kind: 'prompt', body: `${i}`.repeat(600) }));
    await Promise.all(rows.map((row, i) => writer.append(sampleEvent(tenant, i), { content: [row] })));
    // 600 bytes each against a 1,000-byte cap: one event per transaction.
    expect(writer.stats()).toMatchObject({ events: 6, commits: 6 });
    await writer.close();
  });

  it('rejects every waiting event when the database cannot be reached', async () => {
    const unreachable = createAppPool(withDatabase(process.env.DATABASE_URL!, 'gatehouse_no_such_database'), 1);
    const writer = new AuditWriter(unreachable);
    const results = await Promise.allSettled([writer.append(sampleEvent(randomUUID(), 1)), writer.append(sampleEvent(randomUUID(), 2))]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(AuditWriteError);
    expect(((results[0] as PromiseRejectedResult).reason as AuditWriteError).refusedByDatabase).toBe(false);
    expect(writer.stats()).toEqual({ events: 0, commits: 0, failed: 2 });
    await writer.close();
    await unreachable.end();
  });

  it('close() drains queued events and then refuses new ones', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool());
    const pending = Array.from({ length: 30 }, (_, i) => writer.append(sampleEvent(tenant, i)));
    await writer.close();
    expect(writer.stats().events).toBe(30);
    expectGapless(await Promise.all(pending));
    await expect(writer.append(sampleEvent(tenant, 99))).rejects.toThrow(/closed/);
  });
});

describe('AuditWriter deferred events', () => {
  /** Whether the promise has settled after the event loop had a chance to run. */
  async function settledYet(promise: Promise<unknown>): Promise<boolean> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    return settled;
  }

  it('ride in the next transaction another append starts, committed before it in the chain', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool(), { deferredLingerMs: 60_000 });
    try {
      const deferred = writer.append(sampleEvent(tenant, 1), { deferred: true });
      expect(await settledYet(deferred)).toBe(false);
      expect(writer.stats().commits).toBe(0);
      const foreground = await writer.append(sampleEvent(tenant, 2));
      expect(writer.stats()).toEqual({ events: 2, commits: 1, failed: 0 });
      expect((await deferred).seq).toBe(1);
      expect(foreground.seq).toBe(2);
      await expectValidChain(tenant, 2);
    } finally {
      await writer.close();
    }
  });

  it('appended while a transaction is in flight, wait for the next append instead of following it in one of their own', async () => {
    const tenant = randomUUID();
    const own = createAppPool(process.env.DATABASE_URL!, 1);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    // The first transaction's statement waits for the gate, so the deferred append arrives while it is in flight.
    const gated = new Proxy(own, {
      get(target, property) {
        if (property !== 'connect') return Reflect.get(target, property) as unknown;
        return async () => {
          const client = await target.connect();
          const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
          (client as unknown as { query: unknown }).query = async (...args: unknown[]) => {
            started();
            await gate;
            (client as unknown as { query: unknown }).query = query;
            return query(...args);
          };
          return client;
        };
      },
    });
    const writer = new AuditWriter(gated, { deferredLingerMs: 60_000 });
    try {
      const first = writer.append(sampleEvent(tenant, 1));
      await inFlight;
      const deferred = writer.append(sampleEvent(tenant, 2), { deferred: true });
      open();
      expect((await first).seq).toBe(1);
      expect(await settledYet(deferred)).toBe(false);
      expect(writer.stats().commits).toBe(1);
      const next = await writer.append(sampleEvent(tenant, 3));
      expect([(await deferred).seq, next.seq]).toEqual([2, 3]);
      expect(writer.stats()).toEqual({ events: 3, commits: 2, failed: 0 });
    } finally {
      await writer.close();
      await own.end();
    }
  });

  it('commit on their own once the linger passes with no other append', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool(), { deferredLingerMs: 200 });
    const started = performance.now();
    const pending = [writer.append(sampleEvent(tenant, 1), { deferred: true }), writer.append(sampleEvent(tenant, 2), { deferred: true })];
    const stored = await Promise.all(pending);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expectGapless(stored);
    expect(writer.stats()).toEqual({ events: 2, commits: 1, failed: 0 });
    await writer.close();
  });

  it('are sent at once by flush() and by close()', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool(), { deferredLingerMs: 60_000 });
    try {
      const flushed = writer.append(sampleEvent(tenant, 1), { deferred: true });
      writer.flush();
      expect((await flushed).seq).toBe(1);
      const closing = writer.append(sampleEvent(tenant, 2), { deferred: true });
      expect(await settledYet(closing)).toBe(false);
      await writer.close();
      expect((await closing).seq).toBe(2);
      expect(writer.stats()).toEqual({ events: 2, commits: 2, failed: 0 });
    } finally {
      await writer.close();
    }
  });

  it('after flush({ fromNowOn: true }), are sent at once when appended later', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool(), { deferredLingerMs: 60_000 });
    try {
      writer.flush({ fromNowOn: true });
      const later = writer.append(sampleEvent(tenant, 1), { deferred: true });
      expect(await settledYet(later)).toBe(true);
      expect((await later).seq).toBe(1);
    } finally {
      await writer.close();
    }
  });

  it('refuse a linger that is negative or not finite', () => {
    expect(() => new AuditWriter(pool(), { deferredLingerMs: -1 })).toThrow(/deferredLingerMs/);
    expect(() => new AuditWriter(pool(), { deferredLingerMs: Number.NaN })).toThrow(/deferredLingerMs/);
  });

  /**
   * A pool whose connects fail while `failConnect()` says so, and whose audit statements the
   * database refuses (SQLSTATE 54000, not caused by an event) while `refuse(eventIds)` says so.
   */
  function scriptedPool(own: pg.Pool, script: { failConnect?: () => boolean; refuse?: (eventIds: string[]) => boolean }): pg.Pool {
    return new Proxy(own, {
      get(target, property) {
        if (property !== 'connect') return Reflect.get(target, property) as unknown;
        return async () => {
          if (script.failConnect?.()) throw new Error('connect ECONNREFUSED (scripted)');
          const client = await target.connect();
          const query = client.query.bind(client) as (text: string, values: unknown[]) => Promise<unknown>;
          (client as unknown as { query: unknown }).query = async (text: string, values: unknown[]) => {
            if (text.includes('audit_append_events') && script.refuse?.(values[2] as string[])) {
              const refusal = new pg.DatabaseError('statement too complex (scripted)', 0, 'error');
              refusal.code = '54000';
              throw refusal;
            }
            return query(text, values);
          };
          // The client goes back to the shared pool as it came.
          const release = client.release.bind(client);
          client.release = (error?: Error | boolean) => {
            (client as unknown as { query: unknown }).query = query;
            release(error);
          };
          return client;
        };
      },
    });
  }

  it('stay queued when a connect fails, which rejects only the events someone waits on', async () => {
    const tenant = randomUUID();
    let unreachable = true;
    const writer = new AuditWriter(scriptedPool(pool(), { failConnect: () => unreachable }), { deferredLingerMs: 60_000 });
    try {
      const deferred = writer.append(sampleEvent(tenant, 1), { deferred: true });
      const refused = await writer.append(sampleEvent(tenant, 2)).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AuditWriteError);
      expect((refused as AuditWriteError).refusedByDatabase).toBe(false);
      expect(await settledYet(deferred)).toBe(false);
      unreachable = false;
      const next = await writer.append(sampleEvent(tenant, 3));
      expect([(await deferred).seq, next.seq]).toEqual([1, 2]);
      expect(writer.stats()).toEqual({ events: 2, commits: 1, failed: 1 });
    } finally {
      await writer.close();
    }
  });

  it('are retried with backoff after a failed connect, and rejected after three retries', async () => {
    const tenant = randomUUID();
    let failures = 2;
    const recovering = new AuditWriter(scriptedPool(pool(), { failConnect: () => failures-- > 0 }), { deferredLingerMs: 10 });
    try {
      expect((await recovering.append(sampleEvent(tenant, 1), { deferred: true })).seq).toBe(1);
      expect(recovering.stats()).toEqual({ events: 1, commits: 1, failed: 0 });
    } finally {
      await recovering.close();
    }
    let attempts = 0;
    const down = new AuditWriter(scriptedPool(pool(), { failConnect: () => ++attempts > 0 }), { deferredLingerMs: 10 });
    try {
      await expect(down.append(sampleEvent(tenant, 2), { deferred: true })).rejects.toBeInstanceOf(AuditWriteError);
      expect(attempts).toBe(4);
      expect(down.stats()).toEqual({ events: 0, commits: 0, failed: 1 });
    } finally {
      await down.close();
    }
  });

  it('and the events someone waits on are committed apart when the database refuses their shared transaction', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(scriptedPool(pool(), { refuse: (eventIds) => eventIds.length > 1 }), { deferredLingerMs: 60_000 });
    try {
      const deferred = writer.append(sampleEvent(tenant, 1), { deferred: true });
      const waited = await writer.append(sampleEvent(tenant, 2));
      // The waiting event first: it must not wait for, nor fail with, the other call's response event.
      expect([waited.seq, (await deferred).seq]).toEqual([1, 2]);
      expect(writer.stats()).toEqual({ events: 2, commits: 2, failed: 0 });
      await expectValidChain(tenant, 2);
    } finally {
      await writer.close();
    }
  });

  it('refused on their own do not fail the event they rode with, nor does its refusal fail them', async () => {
    const tenant = randomUUID();
    const poisoned = new Set<string>();
    const writer = new AuditWriter(scriptedPool(pool(), { refuse: (eventIds) => eventIds.some((id) => poisoned.has(id)) }), { deferredLingerMs: 60_000 });
    try {
      const response = sampleEvent(tenant, 1, { event_id: uuidv7() });
      poisoned.add(response.event_id!);
      const deferred = writer.append(response, { deferred: true });
      expect((await writer.append(sampleEvent(tenant, 2))).seq).toBe(1);
      const refused = await deferred.catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AuditWriteError);
      expect((refused as AuditWriteError).refusedByDatabase).toBe(true);

      const kept = writer.append(sampleEvent(tenant, 3), { deferred: true });
      const request = sampleEvent(tenant, 4, { event_id: uuidv7() });
      poisoned.add(request.event_id!);
      await expect(writer.append(request)).rejects.toBeInstanceOf(AuditWriteError);
      expect((await kept).seq).toBe(2);
      expect(writer.stats()).toEqual({ events: 2, commits: 2, failed: 2 });
    } finally {
      await writer.close();
    }
  });

  it('with large content wait for a transaction of their own instead of riding with an event someone waits on', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool(), { deferredLingerMs: 60_000 });
    try {
      const large = prepareContent({ tenant_id: tenant, kind: 'completion', body: `${randomUUID()} ${'x'.repeat(300 * 1024)}` });
      const small = prepareContent({ tenant_id: tenant, kind: 'completion', body: `small ${randomUUID()}` });
      const heavy = writer.append(sampleEvent(tenant, 1, { content_refs: [large.ref] }), { deferred: true, content: [large] });
      const light = writer.append(sampleEvent(tenant, 2, { content_refs: [small.ref] }), { deferred: true, content: [small] });
      const waited = await writer.append(sampleEvent(tenant, 3));
      expect([(await light).seq, waited.seq]).toEqual([1, 2]);
      expect(await settledYet(heavy)).toBe(false);
      writer.flush();
      expect((await heavy).seq).toBe(3);
      expect(writer.stats()).toEqual({ events: 3, commits: 2, failed: 0 });
      await expectValidChain(tenant, 3);
    } finally {
      await writer.close();
    }
  });

  it('split into transactions of at most maxBatch events', async () => {
    const tenant = randomUUID();
    const writer = new AuditWriter(pool(), { deferredLingerMs: 60_000, maxBatch: 2 });
    try {
      const deferred = [1, 2, 3].map((i) => writer.append(sampleEvent(tenant, i), { deferred: true }));
      const waited = await writer.append(sampleEvent(tenant, 4));
      expect([...(await Promise.all(deferred)).map((event) => event.seq), waited.seq]).toEqual([1, 2, 3, 4]);
      expect(writer.stats()).toEqual({ events: 4, commits: 2, failed: 0 });
    } finally {
      await writer.close();
    }
  });

  it("are committed before a shutdown's background drain returns, also when appended while it waits", async () => {
    const tenant = randomUUID();
    // The process-wide writer, with a linger longer than the drain waits: only the drain's flush sends them.
    await closeAuditWriter();
    useAuditWriterOptions({ deferredLingerMs: 60_000 });
    try {
      const before = auditWriter().stats();
      runInBackground('test: a deferred event', () => appendAuditEvent(sampleEvent(tenant, 1), { deferred: true }));
      runInBackground('test: a deferred event appended during the drain', async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await appendAuditEvent(sampleEvent(tenant, 2), { deferred: true });
      });
      expect(await drainBackgroundTasks(5_000)).toBe(0);
      expect(auditWriter().stats().events - before.events).toBe(2);
      await expectValidChain(tenant, 2);
      // The drain over (tests drain mid-file), deferred events linger again.
      const later = appendAuditEvent(sampleEvent(tenant, 3), { deferred: true });
      expect(await settledYet(later)).toBe(false);
      auditWriter().flush();
      expect((await later).seq).toBe(3);
    } finally {
      useAuditWriterOptions({});
      await closeAuditWriter();
    }
  });
});
