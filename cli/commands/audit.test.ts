import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditWriter } from '@/lib/audit/writer';
import { sampleEvent, superuserClient } from '@/lib/audit/testing/fixtures';
import { createAppPool } from '@/lib/db/pool';
import { auditCommand } from './audit';

const exec = promisify(execFile);

// The real launcher, end to end. Only its output is checked: the exit code it returns is the
// integrator's wrapper's business (cli/main.ts), tested through auditCommand's return value here.
async function gatehouse(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await exec(process.execPath, ['cli/gatehouse.mjs', ...args], { env: process.env });
  } catch (error) {
    return error as { stdout: string; stderr: string };
  }
}

const intact = randomUUID();
const broken = randomUUID();
let brokenEventId: string;

beforeAll(async () => {
  const pool = createAppPool(process.env.DATABASE_URL!, 2);
  const writer = new AuditWriter(pool);
  await writer.appendMany([0, 1, 2].map((n) => sampleEvent(intact, n)));
  const events = await writer.appendMany([0, 1, 2, 3].map((n) => sampleEvent(broken, n)));
  brokenEventId = events[2]!.event_id;
  await writer.close();
  await pool.end();
  const superuser = await superuserClient();
  await superuser.query('SET session_replication_role = replica');
  await superuser.query(`UPDATE audit_events SET event = jsonb_set(event, '{outcome}', '"denied"') WHERE tenant_id = $1 AND seq = 3`, [broken]);
  await superuser.end();
});

afterAll(async () => {
  const superuser = await superuserClient();
  await superuser.query('SET session_replication_role = replica');
  await superuser.query('DELETE FROM audit_events WHERE tenant_id = $1', [broken]);
  await superuser.query('DELETE FROM audit_chain_heads WHERE tenant_id = $1', [broken]);
  await superuser.end();
});

/** Runs the command in this process, returning its exit code and what it printed. */
async function inProcess(...args: string[]): Promise<{ code: number; stdout: string }> {
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void printed.push(parts.join(' ')));
  try {
    return { code: await auditCommand(args), stdout: printed.join('\n') };
  } finally {
    log.mockRestore();
  }
}

describe('gatehouse audit verify', () => {
  it('prints one ok line for an intact chain and returns 0', async () => {
    expect(await inProcess('verify', '--tenant', intact)).toEqual({ code: 0, stdout: `chain ${intact}: 3 events ok` });
  });

  it('names the first break and returns 1, also as JSON', async () => {
    const text = await inProcess('verify', '--tenant', broken);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`^chain ${broken}: BROKEN at seq 3 \\(event ${brokenEventId}, \\S+Z\\): hash mismatch`));

    const json = await inProcess('verify', '--tenant', broken, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      chains: [{ tenant_id: broken, ok: false, events: 2, last_seq: 2, break: { seq: 3, event_id: brokenEventId } }],
    });
  });

  it('explains usage and refuses bad arguments as usage errors', async () => {
    const help = await inProcess('--help');
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('gatehouse audit verify [--tenant TENANT_ID] [--json]') });
    await expect(auditCommand(['verify', '--tenant', 'acme'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('--tenant must be a tenant id') });
    await expect(auditCommand(['verify', '--chain', intact])).rejects.toMatchObject({ exitCode: 2 });
    await expect(auditCommand(['rewrite'])).rejects.toMatchObject({ exitCode: 2, message: 'unknown audit command "rewrite" (try gatehouse audit --help)' });
  });

  it('is wired into the gatehouse command', async () => {
    const result = await gatehouse('audit', 'verify', '--tenant', broken);
    expect(result.stdout).toMatch(new RegExp(`^chain ${broken}: BROKEN at seq 3 `));
  });
});
