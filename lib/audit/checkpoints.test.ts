import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, pool } from '@/lib/db/client';
import { CHECKPOINT_KEY_FILE, loadCheckpointSigner, pinnedCheckpointKeys, publicKeyPem, type CheckpointSigner } from './checkpoint-keys';
import { CheckpointMemory } from './checkpoint-memory';
import { checkpointStatement } from './checkpoint-statement';
import { listCheckpoints } from './checkpoint-store';
import { signCheckpoints } from './checkpoints';
import { asSuperuser as tamper, rewriteWithRecomputedHashes, sampleEvent, superuserClient } from './testing/fixtures';
import { verifyAuditChains } from './verify';
import { AuditWriter } from './writer';

let writer: AuditWriter;
let superuser: pg.Client;
let keyDir: string;
let signer: CheckpointSigner;
const tenants: string[] = [];

beforeAll(async () => {
  writer = new AuditWriter(pool());
  superuser = await superuserClient();
  keyDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-checkpoints-'));
  signer = (await loadCheckpointSigner({ dataDir: keyDir, source: {}, create: true }))!;
});

afterAll(async () => {
  // The chains and checkpoints broken on purpose go, so a whole-database verify elsewhere stays meaningful.
  await superuser.query('SET session_replication_role = replica');
  for (const table of ['audit_events', 'audit_chain_heads', 'audit_checkpoints']) {
    await superuser.query(`DELETE FROM ${table} WHERE tenant_id = ANY($1::uuid[])`, [tenants]);
  }
  await superuser.end();
  await writer.close();
  await closeDatabase();
  await rm(keyDir, { recursive: true, force: true });
});

async function chainOf(count: number): Promise<string> {
  const tenant = randomUUID();
  tenants.push(tenant);
  await append(tenant, count);
  return tenant;
}

async function append(tenant: string, count: number): Promise<void> {
  await writer.appendMany(Array.from({ length: count }, (_, i) => sampleEvent(tenant, i)));
}

function asSuperuser(sql: string, params: unknown[]) {
  return tamper(superuser, sql, params);
}

async function verifyWithCheckpoints(tenant: string, memory?: CheckpointMemory) {
  const report = await verifyAuditChains(pool(), { tenantId: tenant, checkpoints: { pinned: [signer], ...(memory ? { memory } : {}) } });
  return { ok: report.ok, chain: report.chains[0]! };
}

describe('signed checkpoints', () => {
  it('signs each moved chain head once, with a statement anyone can re-verify with the public key', async () => {
    const tenant = await chainOf(4);
    const first = await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    expect(first).toEqual({ signed: [{ tenant_id: tenant, number: 1, seq: 4 }], unchanged: 0, refused: [] });
    expect((await signCheckpoints(pool(), signer, { tenantIds: [tenant] })).unchanged).toBe(1);
    await append(tenant, 2);
    expect((await signCheckpoints(pool(), signer, { tenantIds: [tenant] })).signed).toEqual([{ tenant_id: tenant, number: 2, seq: 6 }]);

    const [, second] = await listCheckpoints(pool(), tenant);
    const head = await pool().query<{ hash: Buffer }>('SELECT hash FROM audit_chain_heads WHERE tenant_id = $1', [tenant]);
    expect(second).toMatchObject({ number: 2, seq: 6, key_id: signer.keyId, public_key: signer.publicKeyDer, hash: head.rows[0]!.hash });
    expect(JSON.parse(second!.statement)).toEqual({
      type: 'gatehouse.audit.checkpoint',
      version: 1,
      tenant_id: tenant,
      number: 2,
      seq: 6,
      hash: head.rows[0]!.hash.toString('hex'),
      signed_at: second!.signed_at.toISOString(),
      key_id: signer.keyId,
    });
    const { verify, createPublicKey } = await import('node:crypto');
    const exported = createPublicKey(publicKeyPem(signer));
    expect(verify(null, Buffer.from(second!.statement), exported, second!.signature)).toBe(true);

    const { ok, chain } = await verifyWithCheckpoints(tenant);
    expect(ok).toBe(true);
    expect(chain.checkpoints).toEqual({ checkpoints: 2, latest: { number: 2, seq: 6, signed_at: second!.signed_at.toISOString(), key_id: signer.keyId }, ok: true, problems: [] });
  });

  it('names a rewrite whose hashes were all recomputed, which plain verification passes', async () => {
    const tenant = await chainOf(10);
    await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    await append(tenant, 5);
    await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    await append(tenant, 3);

    await rewriteWithRecomputedHashes(superuser, tenant, 4);

    const plain = await verifyAuditChains(pool(), { tenantId: tenant });
    expect(plain).toEqual({ ok: true, chains: [{ tenant_id: tenant, events: 18, last_seq: 18, ok: true }] });

    const { ok, chain } = await verifyWithCheckpoints(tenant);
    expect(ok).toBe(false);
    expect(chain.ok).toBe(true);
    expect(chain.checkpoints!.problems).toEqual([
      expect.stringMatching(/^rewrite: the event at seq 10 \([0-9a-f-]+\) does not hash to checkpoint #1 \(seq 10, signed \S+Z\), key [0-9a-f]{16}: seqs 1\.\.10 changed after it was signed$/),
      expect.stringMatching(/^rewrite: the event at seq 15 \([0-9a-f-]+\) does not hash to checkpoint #2 \(seq 15, signed \S+Z\), key [0-9a-f]{16}: seqs 11\.\.15 changed after it was signed$/),
    ]);

    // And the worker will not sign over it.
    const run = await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    expect(run.refused).toEqual([{ tenant_id: tenant, reason: 'chain broken at seq 16 since checkpoint #2 (seq 15): prev_hash mismatch: does not match the hash of seq 15' }]);
  });

  it('lets the app role add and read checkpoints, never change or delete them', async () => {
    const tenant = await chainOf(2);
    await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    await expect(pool().query('UPDATE audit_checkpoints SET seq = 1 WHERE tenant_id = $1', [tenant])).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
    await expect(pool().query('DELETE FROM audit_checkpoints WHERE tenant_id = $1', [tenant])).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
    await expect(pool().query('TRUNCATE audit_checkpoints')).rejects.toMatchObject({ code: '42501' });
    await expect(superuser.query('DELETE FROM audit_checkpoints WHERE tenant_id = $1', [tenant])).rejects.toThrow(/append-only: DELETE refused/);
  });

  it('detects forged checkpoint rows: a bad signature, an unpinned key, or columns that differ from the statement', async () => {
    const tenant = await chainOf(3);
    await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    const [genuine] = await listCheckpoints(pool(), tenant);
    const attacker = generateKeyPairSync('ed25519');
    const attackerSigner = (await loadCheckpointSigner({ dataDir: keyDir, source: { GATEHOUSE_CHECKPOINT_KEY: attacker.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } }))!;
    const forge = async (number: number, signedBy: CheckpointSigner, tweak: (statement: string) => string = (s) => s) => {
      const fields = { tenant_id: tenant, number, seq: 3, hash: genuine!.hash.toString('hex'), signed_at: new Date().toISOString(), key_id: signer.keyId };
      const statement = checkpointStatement(fields);
      // Inserted through the app role: all an attacker without the key can do.
      await pool().query(
        `INSERT INTO audit_checkpoints (tenant_id, number, seq, hash, signed_at, key_id, public_key, statement, signature) VALUES ($1, $2, 3, $3, $4, $5, $6, $7, $8)`,
        [tenant, number, genuine!.hash, fields.signed_at, signer.keyId, signer.publicKeyDer, tweak(statement), signedBy.sign(Buffer.from(statement))],
      );
    };
    await forge(2, attackerSigner);
    await forge(3, signer, (statement) => statement.replace('"seq":3', '"seq":2'));
    await pool().query(
      `INSERT INTO audit_checkpoints (tenant_id, number, seq, hash, signed_at, key_id, public_key, statement, signature)
       SELECT tenant_id, 4, seq, hash, signed_at, $2, public_key, statement, signature FROM audit_checkpoints WHERE tenant_id = $1 AND number = 1`,
      [tenant, attackerSigner.keyId],
    );

    const { ok, chain } = await verifyWithCheckpoints(tenant);
    expect(ok).toBe(false);
    expect(chain.checkpoints!.problems).toEqual([
      expect.stringMatching(/^checkpoint #2 \(seq 3, .*\): signature does not verify with pinned key [0-9a-f]{16} \(forged or altered checkpoint\)$/),
      expect.stringMatching(/^checkpoint #3 \(seq 3, .*\): signature does not verify/),
      expect.stringMatching(/^checkpoint #4 \(seq 3, .*\): signed by key [0-9a-f]{16}, which is not pinned/),
    ]);
    // The signer keeps going on top of the last genuine checkpoint, numbering past the forgeries.
    await append(tenant, 1);
    expect((await signCheckpoints(pool(), signer, { tenantIds: [tenant] })).signed).toEqual([{ tenant_id: tenant, number: 5, seq: 4 }]);
  });

  it('refuses, and reports, a tenant whose numbers a forged row used up, and still signs the others', async () => {
    const [used, other] = [await chainOf(2), await chainOf(2)];
    // All the app role needs: one junk row at the largest number PostgreSQL's bigint holds.
    await pool().query(
      `INSERT INTO audit_checkpoints (tenant_id, number, seq, hash, signed_at, key_id, public_key, statement, signature)
       VALUES ($1, 9223372036854775807, 1, '\\x00', now(), 'junk', 'junk', 'junk', '\\x00')`,
      [used],
    );
    const run = await signCheckpoints(pool(), signer, { tenantIds: [used, other].sort() });
    expect(run.signed).toEqual([{ tenant_id: other, number: 1, seq: 2 }]);
    expect(run.refused).toEqual([{ tenant_id: used, reason: expect.stringMatching(/^no checkpoint number left after #\d+ \(a forged checkpoint row took it\)$/) }]);
  });

  it('detects deleted checkpoints: a gap in the numbers, and the latest against the key holder’s memory', async () => {
    const tenant = await chainOf(2);
    const memory = await CheckpointMemory.open(keyDir);
    for (let round = 0; round < 3; round += 1) {
      await signCheckpoints(pool(), signer, { tenantIds: [tenant], memory });
      await append(tenant, 2);
    }
    expect(memory.get(tenant)).toMatchObject({ number: 3, seq: 6 });
    const stateFile = await stat(memory.file);
    expect(stateFile.mode & 0o777).toBe(0o600);

    await asSuperuser('DELETE FROM audit_checkpoints WHERE tenant_id = $1 AND number = 2', [tenant]);
    expect((await verifyWithCheckpoints(tenant)).chain.checkpoints!.problems).toEqual(['checkpoint #2 is missing before checkpoint #3 (deleted checkpoint rows)']);

    // Deleting the latest leaves no gap; only the key holder's memory still knows it existed.
    await asSuperuser('DELETE FROM audit_checkpoints WHERE tenant_id = $1 AND number = 3', [tenant]);
    expect((await verifyWithCheckpoints(tenant)).chain.checkpoints!.problems).toEqual([]);
    const remembered = await verifyWithCheckpoints(tenant, await CheckpointMemory.open(keyDir));
    expect(remembered.ok).toBe(false);
    expect(remembered.chain.checkpoints!.problems).toContainEqual(expect.stringMatching(/^checkpoint #3 \(seq 6, signed \S+\), which this key holder signed, is missing from the database \(deleted checkpoint rows\)$/));
    // And the signer refuses to build over the hole rather than reuse number 3.
    expect((await signCheckpoints(pool(), signer, { tenantIds: [tenant], memory })).refused).toEqual([
      { tenant_id: tenant, reason: 'checkpoint #3 (seq 6) that this signer made is missing or altered in the database' },
    ]);
  });

  it('detects a chain deleted outright from the checkpoints it leaves behind', async () => {
    const tenant = await chainOf(3);
    await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    await asSuperuser('DELETE FROM audit_events WHERE tenant_id = $1', [tenant]);
    await asSuperuser('DELETE FROM audit_chain_heads WHERE tenant_id = $1', [tenant]);
    const report = await verifyAuditChains(pool(), { checkpoints: { pinned: [signer] } });
    const chain = report.chains.find((candidate) => candidate.tenant_id === tenant);
    expect(chain).toMatchObject({ events: 0, ok: true, checkpoints: { ok: false, problems: [expect.stringMatching(/^checkpoint #1 \(seq 3, .*\): no event at seq 3 any more/)] } });
    expect(report.ok).toBe(false);
  });

  it('refuses to verify checkpoints without a pinned key rather than pass them', async () => {
    const tenant = await chainOf(1);
    await signCheckpoints(pool(), signer, { tenantIds: [tenant] });
    const report = await verifyAuditChains(pool(), { tenantId: tenant, checkpoints: { pinned: [] } });
    expect(report.ok).toBe(false);
    expect(report.chains[0]!.checkpoints!.problems).toEqual([expect.stringMatching(/^1 checkpoint\(s\) cannot be checked: no checkpoint public key is pinned/)]);
  });
});

describe('checkpoint keys', () => {
  it('creates the key file once, mode 0600, and pins its public key and those of a public keys file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-checkpoint-key-'));
    try {
      expect(await loadCheckpointSigner({ dataDir: dir, source: {} })).toBeNull();
      const created = (await loadCheckpointSigner({ dataDir: dir, source: {}, create: true }))!;
      const file = path.join(dir, CHECKPOINT_KEY_FILE);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await loadCheckpointSigner({ dataDir: dir, source: {}, create: true }))!.keyId).toBe(created.keyId);
      expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);

      const rotatedOut = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const publicKeys = path.join(dir, 'pinned.pem');
      await writeFile(publicKeys, `${rotatedOut}\n${publicKeyPem(created)}`);
      const pinned = await pinnedCheckpointKeys({ dataDir: dir, source: { GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE: publicKeys } });
      expect(pinned.map((key) => key.keyId)).toEqual([created.keyId, expect.stringMatching(/^[0-9a-f]{16}$/)]);

      // From the environment: PEM or base64 DER, and only Ed25519.
      const der = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
      expect((await loadCheckpointSigner({ dataDir: dir, source: { GATEHOUSE_CHECKPOINT_KEY: der } }))!.keyId).not.toBe(created.keyId);
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await expect(loadCheckpointSigner({ dataDir: dir, source: { GATEHOUSE_CHECKPOINT_KEY: rsa } })).rejects.toThrow(/GATEHOUSE_CHECKPOINT_KEY: not an Ed25519 key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
