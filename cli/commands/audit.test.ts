import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCheckpointSigner, signCheckpoints, type CheckpointSigner } from '@/lib/audit';
import { AuditWriter } from '@/lib/audit/writer';
import { asSuperuser, rewriteWithRecomputedHashes, sampleEvent, superuserClient } from '@/lib/audit/testing/fixtures';
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
/** Checkpointed, then rewritten with every hash recomputed: only the checkpoint can tell. */
const rewritten = randomUUID();
let brokenEventId: string;
let dataDir: string;
let signer: CheckpointSigner;
const savedDataDir = process.env.GATEHOUSE_DATA_DIR;

beforeAll(async () => {
  // The CLI pins the checkpoint key it finds in the data directory, as on the worker's host.
  dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-cli-audit-'));
  process.env.GATEHOUSE_DATA_DIR = dataDir;
  signer = (await loadCheckpointSigner({ dataDir, source: {}, create: true }))!;

  const pool = createAppPool(process.env.DATABASE_URL!, 2);
  const writer = new AuditWriter(pool);
  await writer.appendMany([0, 1, 2].map((n) => sampleEvent(intact, n)));
  const events = await writer.appendMany([0, 1, 2, 3].map((n) => sampleEvent(broken, n)));
  brokenEventId = events[2]!.event_id;
  await writer.appendMany([0, 1, 2, 3, 4, 5].map((n) => sampleEvent(rewritten, n)));
  await signCheckpoints(pool, signer, { tenantIds: [intact, rewritten] });
  await writer.close();
  await pool.end();
  const superuser = await superuserClient();
  await asSuperuser(superuser, `UPDATE audit_events SET event = jsonb_set(event, '{outcome}', '"denied"') WHERE tenant_id = $1 AND seq = 3`, [broken]);
  await rewriteWithRecomputedHashes(superuser, rewritten, 2);
  await superuser.end();
});

afterAll(async () => {
  const superuser = await superuserClient();
  for (const table of ['audit_events', 'audit_chain_heads', 'audit_checkpoints']) {
    await asSuperuser(superuser, `DELETE FROM ${table} WHERE tenant_id = ANY($1::uuid[])`, [[broken, rewritten]]);
  }
  await superuser.end();
  if (savedDataDir === undefined) delete process.env.GATEHOUSE_DATA_DIR;
  else process.env.GATEHOUSE_DATA_DIR = savedDataDir;
  await rm(dataDir, { recursive: true, force: true });
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
  it('prints one ok line for an intact chain and one for its checkpoints, and returns 0', async () => {
    const result = await inProcess('verify', '--tenant', intact);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `chain ${intact}: 3 events ok`,
      expect.stringMatching(new RegExp(`^checkpoints ${intact}: 1 ok, latest #1 at seq 3 \\(signed \\S+Z, key ${signer.keyId}\\)$`)),
    ]);
  });

  it('names a rewrite whose hashes were all recomputed, by seq and checkpoint, and returns 1', async () => {
    const result = await inProcess('verify', '--tenant', rewritten);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')).toEqual([
      `chain ${rewritten}: 6 events ok`,
      expect.stringMatching(new RegExp(`^checkpoints ${rewritten}: FAILED: rewrite: the event at seq 6 \\(\\S+\\) does not hash to checkpoint #1 \\(seq 6, signed \\S+Z\\), key ${signer.keyId}: seqs 1\\.\\.6 changed after it was signed$`)),
    ]);
  });

  it('exports checkpoints and the public key that verifies them', async () => {
    const json = await inProcess('checkpoints', '--tenant', intact, '--json');
    expect(json.code).toBe(0);
    const [exported] = JSON.parse(json.stdout) as { statement: string; signature: string; key_id: string; public_key: string }[];
    expect(exported).toMatchObject({ tenant_id: intact, number: 1, seq: 3, key_id: signer.keyId, public_key: signer.publicKeyDer });
    const keys = await inProcess('checkpoint-key');
    expect(keys.stdout).toContain(`# key ${signer.keyId}`);
    const pem = keys.stdout.slice(keys.stdout.indexOf('-----BEGIN PUBLIC KEY-----'));
    const { createPublicKey, verify } = await import('node:crypto');
    expect(verify(null, Buffer.from(exported!.statement), createPublicKey(pem), Buffer.from(exported!.signature, 'base64'))).toBe(true);
    expect((await inProcess('checkpoints', '--tenant', intact)).stdout).toMatch(new RegExp(`^${intact} #1 seq 3 [0-9a-f]{64} \\S+Z key ${signer.keyId}$`));
  });

  it('names the first break and returns 1, also as JSON', async () => {
    const text = await inProcess('verify', '--tenant', broken);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`^chain ${broken}: BROKEN at seq 3 \\(event ${brokenEventId}, \\S+Z\\): hash mismatch`));
    expect(text.stdout).toContain(`checkpoints ${broken}: none yet`);

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
    expect(help.stdout).toContain('gatehouse audit checkpoints [--tenant TENANT_ID] [--json]');
    await expect(auditCommand(['verify', '--tenant', 'acme'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('--tenant must be a tenant id') });
    await expect(auditCommand(['verify', '--chain', intact])).rejects.toMatchObject({ exitCode: 2 });
    await expect(auditCommand(['rewrite'])).rejects.toMatchObject({ exitCode: 2, message: 'unknown audit command "rewrite" (try gatehouse audit --help)' });
  });

  it('is wired into the gatehouse command', async () => {
    const result = await gatehouse('audit', 'verify', '--tenant', broken);
    expect(result.stdout).toMatch(new RegExp(`^chain ${broken}: BROKEN at seq 3 `));
    const rewrite = await gatehouse('audit', 'verify', '--tenant', rewritten);
    expect(rewrite.stdout).toMatch(/FAILED: rewrite: the event at seq 6 .* checkpoint #1 /);
  });
});
