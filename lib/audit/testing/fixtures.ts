import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { poolConfigFromUrl } from '@/lib/db/connection';
import { canonicalJson, chainHash } from '../canonical';
import type { AuditEvent, AuditEventInput } from '../event';

/** A small valid event for `tenant`; `n` lands in attributes so events differ. */
export function sampleEvent(tenant: string, n: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    tenant_id: tenant,
    event_type: 'inference.request',
    action: 'messages.create',
    outcome: 'success',
    call_source: 'test',
    attributes: { n },
    ...overrides,
  };
}

/** The database's login user without the app role: plays an operator with superuser rights. */
export async function superuserClient(): Promise<pg.Client> {
  const url = process.env.GATEHOUSE_TEST_SUPERUSER_URL;
  if (!url) throw new Error('GATEHOUSE_TEST_SUPERUSER_URL is not set (run through vitest)');
  const client = new pg.Client(poolConfigFromUrl(url));
  await client.connect();
  return client;
}

/**
 * Waits, when needed, until at least `marginMs` remain in the current counting window, so a test
 * that counts several occurrences into one event does not straddle two windows.
 */
export async function awayFromWindowEdge(windowMs: number, marginMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 10));
}

/** Runs SQL as `superuser` with the append-only triggers bypassed: what database access allows. */
export async function asSuperuser(superuser: pg.Client, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  await superuser.query('SET session_replication_role = replica');
  try {
    return await superuser.query(sql, params);
  } finally {
    await superuser.query('SET session_replication_role = origin');
  }
}

/**
 * The rewrite plain chain verification cannot see: the event at `seq` gets outcome "denied", then
 * its hash, every later prev_hash and hash, and the chain head are recomputed exactly as the
 * writer would have.
 */
export async function rewriteWithRecomputedHashes(superuser: pg.Client, tenant: string, seq: number): Promise<void> {
  const { rows } = await superuser.query<{ seq: string; event: AuditEvent; prev_hash: Buffer }>(
    'SELECT seq, event, prev_hash FROM audit_events WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq',
    [tenant, seq],
  );
  let prevHash = rows[0]!.prev_hash;
  for (const row of rows) {
    const event = Number(row.seq) === seq ? { ...row.event, outcome: 'denied' as const } : row.event;
    const hash = chainHash(prevHash, Number(row.seq), event);
    await asSuperuser(superuser, 'UPDATE audit_events SET event = $3::jsonb, outcome = $4, prev_hash = $5, hash = $6 WHERE tenant_id = $1 AND seq = $2', [
      tenant,
      row.seq,
      canonicalJson(event),
      event.outcome,
      prevHash,
      hash,
    ]);
    prevHash = hash;
  }
  await asSuperuser(superuser, 'UPDATE audit_chain_heads SET hash = $2 WHERE tenant_id = $1', [tenant, prevHash]);
}

/**
 * Makes the database refuse the trace's events of `match.eventType` (and `match.action`, when
 * given), as a failing disk or a constraint would, for the duration of `work`.
 */
export async function withEventsRefused(traceId: string, match: { eventType: string; action?: string }, work: () => Promise<void>): Promise<void> {
  const name = `refuse_events_${randomBytes(4).toString('hex')}`;
  const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;
  const action = match.action ? ` AND NEW.action = ${literal(match.action)}` : '';
  const admin = await superuserClient();
  try {
    await admin.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.trace_id = ${literal(traceId)} AND NEW.event_type = ${literal(match.eventType)}${action} THEN RAISE EXCEPTION 'event refused for the test' USING ERRCODE = 'check_violation'; END IF;
        RETURN NEW;
      END $$`);
    await admin.query(`CREATE TRIGGER ${name} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    await work();
  } finally {
    await admin.query(`DROP TRIGGER IF EXISTS ${name} ON audit_events`);
    await admin.query(`DROP FUNCTION IF EXISTS ${name}()`);
    await admin.end();
  }
}
