import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, pool } from '@/lib/db/client';
import { verifyAuditChains } from './verify';

afterAll(closeDatabase);

const CALLERS = 20;

/**
 * Runs the append loop in a child process, waits for `acknowledgements` events, then SIGKILLs
 * it (and the node process tsx starts under it) mid-stream. Returns the event ids it had
 * acknowledged before dying.
 */
async function appendThenKill(tenant: string, acknowledgements: number): Promise<string[]> {
  const child = spawn('npx', ['tsx', 'lib/audit/testing/append-loop.ts', tenant, String(CALLERS)], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true, // its own process group, so one kill reaches npx, tsx and node alike
  });
  const acknowledged: string[] = [];
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  for await (const line of createInterface({ input: child.stdout })) {
    acknowledged.push(line.split(' ')[1]!);
    if (acknowledged.length === acknowledgements) process.kill(-child.pid!, 'SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  return acknowledged;
}

describe('crash safety', () => {
  it('keeps a valid chain and every acknowledged event when the writer process is killed mid-batch', async () => {
    const tenant = randomUUID();
    const acknowledged = await appendThenKill(tenant, 400);
    expect(acknowledged.length).toBeGreaterThanOrEqual(400);

    // Head and events read in one snapshot: a killed transaction left either all or none of its rows.
    const { rows } = await pool().query<{ events: number; head_seq: number; acknowledged_found: number }>(
      `SELECT (SELECT count(*)::int FROM audit_events WHERE tenant_id = $1) AS events,
              (SELECT seq::int FROM audit_chain_heads WHERE tenant_id = $1) AS head_seq,
              (SELECT count(*)::int FROM audit_events WHERE tenant_id = $1 AND event_id = ANY($2::uuid[])) AS acknowledged_found`,
      [tenant, acknowledged],
    );
    const { events, head_seq, acknowledged_found } = rows[0]!;
    console.log(`crash: ${acknowledged.length} events acknowledged before SIGKILL, ${events} committed`);
    expect(acknowledged_found).toBe(acknowledged.length);
    expect(head_seq).toBe(events);
    // At most the one transaction in flight (never more than CALLERS events) committed unacknowledged.
    expect(events - acknowledged.length).toBeLessThanOrEqual(CALLERS);

    const report = await verifyAuditChains(pool(), { tenantId: tenant });
    expect(report.chains).toEqual([{ tenant_id: tenant, events, last_seq: events, ok: true }]);
  });
});
