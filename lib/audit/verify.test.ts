import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, pool } from '@/lib/db/client';
import { canonicalJson, chainHash } from './canonical';
import type { AuditEvent } from './event';
import { sampleEvent, superuserClient } from './testing/fixtures';
import { verifyAuditChains } from './verify';
import { AuditWriter, type StoredAuditEvent } from './writer';

let writer: AuditWriter;
let superuser: pg.Client;
const tampered: string[] = [];

beforeAll(async () => {
  writer = new AuditWriter(pool());
  superuser = await superuserClient();
});

afterAll(async () => {
  // Remove the chains broken on purpose, so a whole-database verify elsewhere stays meaningful.
  await superuser.query('SET session_replication_role = replica');
  await superuser.query('DELETE FROM audit_events WHERE tenant_id = ANY($1::uuid[])', [tampered]);
  await superuser.query('DELETE FROM audit_chain_heads WHERE tenant_id = ANY($1::uuid[])', [tampered]);
  await superuser.end();
  await writer.close();
  await closeDatabase();
});

/** A fresh tenant with a chain of `count` events, registered for clean-up. */
async function chainOf(count: number): Promise<{ tenant: string; events: StoredAuditEvent[] }> {
  const tenant = randomUUID();
  tampered.push(tenant);
  const events = await writer.appendMany(Array.from({ length: count }, (_, i) => sampleEvent(tenant, i)));
  return { tenant, events };
}

/** Runs SQL as a superuser with triggers bypassed: what someone with database access could do. */
async function tamper(sql: string, params: unknown[]): Promise<void> {
  await superuser.query('SET session_replication_role = replica');
  try {
    const result = await superuser.query(sql, params);
    expect(result.rowCount).toBeGreaterThan(0);
  } finally {
    await superuser.query('SET session_replication_role = origin');
  }
}

async function chainReport(tenant: string) {
  const report = await verifyAuditChains(pool(), { tenantId: tenant });
  expect(report.chains).toHaveLength(1);
  return { ok: report.ok, chain: report.chains[0]! };
}

describe('verifyAuditChains', () => {
  it('passes an intact chain, reading it in pages', async () => {
    const { tenant } = await chainOf(23);
    const report = await verifyAuditChains(pool(), { tenantId: tenant, pageSize: 5 });
    expect(report).toEqual({ ok: true, chains: [{ tenant_id: tenant, events: 23, last_seq: 23, ok: true }] });
  });

  it('lists every chain when no tenant is given', async () => {
    const { tenant } = await chainOf(2);
    const report = await verifyAuditChains(pool());
    expect(report.chains.find((chain) => chain.tenant_id === tenant)).toEqual({ tenant_id: tenant, events: 2, last_seq: 2, ok: true });
  });

  it('names the edited event when its JSON is changed', async () => {
    const { tenant, events } = await chainOf(10);
    await tamper(`UPDATE audit_events SET event = jsonb_set(event, '{action}', '"messages.delete"') WHERE tenant_id = $1 AND seq = 5`, [tenant]);
    const { ok, chain } = await chainReport(tenant);
    expect(ok).toBe(false);
    expect(chain).toMatchObject({ ok: false, events: 4, last_seq: 4 });
    expect(chain.break).toEqual({ seq: 5, event_id: events[4]!.event_id, occurred_at: events[4]!.occurred_at, reason: expect.stringMatching(/^hash mismatch/) });
  });

  it('reports a gap where a row was deleted', async () => {
    const { tenant, events } = await chainOf(10);
    await tamper('DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 6', [tenant]);
    const { chain } = await chainReport(tenant);
    expect(chain.break).toMatchObject({ seq: 7, event_id: events[6]!.event_id, reason: expect.stringMatching(/seq gap: seq 6 is missing/) });
  });

  it('catches an edit whose hash was recomputed, at the next link', async () => {
    const { tenant } = await chainOf(10);
    const { rows } = await superuser.query<{ event: AuditEvent; prev_hash: Buffer }>('SELECT event, prev_hash FROM audit_events WHERE tenant_id = $1 AND seq = 3', [tenant]);
    const forged = { ...rows[0]!.event, outcome: 'denied' as const };
    const hash = chainHash(rows[0]!.prev_hash, 3, forged);
    await tamper(`UPDATE audit_events SET event = $2::jsonb, outcome = 'denied', hash = $3 WHERE tenant_id = $1 AND seq = 3`, [tenant, canonicalJson(forged), hash]);
    const { chain } = await chainReport(tenant);
    expect(chain.break).toMatchObject({ seq: 4, reason: expect.stringMatching(/^prev_hash mismatch: does not match the hash of seq 3/) });
  });

  it('catches a denormalised column that disagrees with the event', async () => {
    const { tenant, events } = await chainOf(5);
    await tamper(`UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = $1 AND seq = 2`, [tenant]);
    const { chain } = await chainReport(tenant);
    expect(chain.break).toMatchObject({ seq: 2, event_id: events[1]!.event_id, reason: expect.stringMatching(/column outcome disagrees/) });
  });

  it('catches a truncated tail through the chain head', async () => {
    const { tenant } = await chainOf(8);
    await tamper('DELETE FROM audit_events WHERE tenant_id = $1 AND seq > 6', [tenant]);
    const { chain } = await chainReport(tenant);
    expect(chain).toMatchObject({ ok: false, events: 6, last_seq: 6 });
    expect(chain.break).toMatchObject({ seq: 7, event_id: null, reason: expect.stringMatching(/head mismatch.*seq 8.*truncated tail/) });
  });

  it('catches inserted rows: a duplicate seq and a row past the head', async () => {
    const duplicate = await chainOf(5);
    await tamper(
      `INSERT INTO audit_events SELECT occurred_at, $2::uuid, tenant_id, seq, schema_version, event_type, action, outcome, trace_id, session_id,
         actor_user_id, cost_microdollars, jsonb_set(event, '{event_id}', to_jsonb($2::text)), prev_hash, hash, recorded_at
       FROM audit_events WHERE tenant_id = $1 AND seq = 3`,
      [duplicate.tenant, uuidv7()],
    );
    expect((await chainReport(duplicate.tenant)).chain.break).toMatchObject({ seq: 3, reason: expect.stringMatching(/duplicate seq 3/) });

    const beyond = await chainOf(4);
    await tamper(
      `INSERT INTO audit_events SELECT occurred_at, $2::uuid, tenant_id, 5, schema_version, event_type, action, outcome, trace_id, session_id,
         actor_user_id, cost_microdollars, jsonb_set(event, '{event_id}', to_jsonb($2::text)), hash, hash, recorded_at
       FROM audit_events WHERE tenant_id = $1 AND seq = 4`,
      [beyond.tenant, uuidv7()],
    );
    expect((await chainReport(beyond.tenant)).chain.break).toMatchObject({ seq: 5, reason: expect.stringMatching(/beyond chain head/) });
  });

  it('catches a missing chain head', async () => {
    const { tenant } = await chainOf(3);
    await superuser.query('DELETE FROM audit_chain_heads WHERE tenant_id = $1', [tenant]);
    expect((await chainReport(tenant)).chain.break).toMatchObject({ seq: 3, reason: expect.stringMatching(/chain head missing/) });
  });
});

describe('append-only storage', () => {
  let tenant: string;
  beforeAll(async () => {
    tenant = (await chainOf(2)).tenant;
  });

  it('denies the application role UPDATE, DELETE and TRUNCATE, on the table and on its partitions', async () => {
    const { rows } = await pool().query<{ partition: string }>('SELECT audit_ensure_partition(now()) AS partition');
    for (const table of ['audit_events', rows[0]!.partition, 'audit_events_default']) {
      for (const sql of [`UPDATE ${table} SET action = action WHERE tenant_id = $1`, `DELETE FROM ${table} WHERE tenant_id = $1`]) {
        await expect(pool().query(sql, [tenant]), sql).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
      }
      await expect(pool().query(`TRUNCATE ${table}`)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
    }
    await expect(pool().query('DELETE FROM audit_chain_heads WHERE tenant_id = $1', [tenant])).rejects.toMatchObject({ code: '42501' });
    expect((await chainReport(tenant)).ok).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE even for a superuser unless triggers are bypassed', async () => {
    await expect(superuser.query('UPDATE audit_events SET action = action WHERE tenant_id = $1', [tenant])).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(superuser.query('DELETE FROM audit_events WHERE tenant_id = $1', [tenant])).rejects.toThrow(/append-only: DELETE refused/);
    // Inside a transaction that is rolled back either way, so a missing guard could not wipe the run's data.
    await superuser.query('BEGIN');
    try {
      await expect(superuser.query('TRUNCATE audit_events')).rejects.toThrow(/append-only: TRUNCATE refused/);
    } finally {
      await superuser.query('ROLLBACK');
    }
    expect((await chainReport(tenant)).chain).toMatchObject({ ok: true, events: 2 });
  });
});
