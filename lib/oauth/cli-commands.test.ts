import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import { writeRuntimeInfo } from '@/lib/db/server';
import { keysCommand } from '@/cli/commands/keys';
import { tokenCommand } from '@/cli/commands/token';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { clearSigningKeyCache, publishedJwks } from '@/lib/tokens/signing-keys';
import { verifyAccessToken } from '@/lib/tokens/verify';
import { revokeUser } from '@/lib/users/revoke';
import type { UserIdentity } from './identity';
import { configureTestEnvironment, createTestUser } from './test-harness';

let user: UserIdentity;
/** Never revoked, unlike `user`. */
let other: UserIdentity;

/** Runs a CLI command and returns what it printed. */
async function run(command: (args: string[]) => Promise<number>, args: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...values: unknown[]) => void lines.push(values.join(' ')));
  try {
    const code = await command(args);
    return { code, output: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  configureTestEnvironment();
  setRevocationCacheTtl(0);
  user = await createTestUser(['finance']);
  other = await createTestUser(['member']);
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('gatehouse token mint', () => {
  it('prints a token that verifies for the requested audience and TTL, and stops when the user is revoked', async () => {
    const { code, output } = await run(tokenCommand, ['mint', '--email', user.email, '--ttl', '120', '--aud', 'https://gw.example.com/v1']);
    expect(code).toBe(0);
    const principal = await verifyAccessToken(output.trim(), { audience: 'https://gw.example.com/v1' });
    expect(principal).toMatchObject({ userId: user.userId, roles: ['finance'], clientId: 'gatehouse-cli' });
    expect(principal.expiresAt.getTime() - principal.issuedAt.getTime()).toBe(120_000);

    const json = await run(tokenCommand, ['mint', '--email', user.email, '--json']);
    expect(JSON.parse(json.output)).toMatchObject({ token_type: 'Bearer', expires_in: 900 });

    await revokeUser(user.email, { call_source: 'cli' });
    await expect(verifyAccessToken(output.trim(), { audience: 'https://gw.example.com/v1' })).rejects.toMatchObject({ reason: 'user_disabled' });
  });

  it('mints for the public URL of the running server, read from its runtime file, else the environment', async () => {
    const previousDataDir = process.env.GATEHOUSE_DATA_DIR;
    const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-runtime-'));
    process.env.GATEHOUSE_DATA_DIR = dataDir;
    process.env.GATEHOUSE_PUBLIC_URL = 'https://from-env.example';
    const issued = async () => {
      const { output } = await run(tokenCommand, ['mint', '--email', other.email]);
      return decodeJwt(output.trim());
    };
    try {
      expect(await issued()).toMatchObject({ iss: 'https://from-env.example', aud: 'https://from-env.example/v1' });

      // This process stands in for the running `npm start` (its pid is what makes the file current).
      await writeRuntimeInfo({ publicUrl: 'https://gatehouse.corp.example', pid: process.pid });
      expect(await issued()).toMatchObject({ iss: 'https://gatehouse.corp.example', aud: 'https://gatehouse.corp.example/v1' });

      // A file left behind by a server that is gone is not believed.
      await writeFile(path.join(dataDir, 'runtime.json'), JSON.stringify({ publicUrl: 'https://stale.example', pid: 2 ** 22 + 1 }));
      expect(await issued()).toMatchObject({ iss: 'https://from-env.example' });
    } finally {
      delete process.env.GATEHOUSE_PUBLIC_URL;
      if (previousDataDir === undefined) delete process.env.GATEHOUSE_DATA_DIR;
      else process.env.GATEHOUSE_DATA_DIR = previousDataDir;
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('explains bad arguments', async () => {
    await expect(run(tokenCommand, ['mint'])).rejects.toThrow('--email is required');
    await expect(run(tokenCommand, ['mint', '--email', 'nobody@example.com'])).rejects.toThrow('no user with email');
    await expect(run(tokenCommand, ['mint', '--email', user.email, '--ttl', '999999'])).rejects.toThrow(/--ttl must be/);
  });
});

describe('gatehouse keys', () => {
  it('rotates: the new key is active, the old one still published, and both listed', async () => {
    const before = (await publishedJwks()).keys.map((k) => k.kid);
    const rotated = await run(keysCommand, ['rotate']);
    expect(rotated.code).toBe(0);
    const newKid = /new signing key (\S+)/.exec(rotated.output)?.[1];
    expect(newKid).toBeTruthy();
    clearSigningKeyCache();
    const after = (await publishedJwks()).keys.map((k) => k.kid);
    expect(after).toEqual(expect.arrayContaining([...before, newKid]));
    const listed = JSON.parse((await run(keysCommand, ['list', '--json'])).output) as Array<{ kid: string; status: string; createdAt: string }>;
    const created = listed.find((k) => k.kid === newKid)!;
    // Active, unless a test file running alongside rotated again since (then a newer key is).
    const active = listed.find((k) => k.status === 'active')!;
    expect(created.status === 'active' || active.createdAt > created.createdAt).toBe(true);
    expect(listed.filter((k) => before.includes(k.kid)).every((k) => k.status === 'retired')).toBe(true);
    const { rows } = await pool().query(`SELECT event->>'call_source' AS source FROM audit_events WHERE action = 'signing_key.rotate' AND event->'target'->>'id' = $1`, [newKid]);
    expect(rows).toEqual([{ source: 'cli' }]);
  });
});
