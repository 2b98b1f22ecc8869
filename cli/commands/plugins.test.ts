import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTestEnvironment, createTestUser } from '@/lib/oauth/test-harness';
import { samplePluginFiles } from '@/lib/plugins/testing/sample';
import type { UserIdentity } from '@/lib/oauth/identity';

const exec = promisify(execFile);

// The real `gatehouse` launcher, end to end, against the run's database.
async function gatehouse(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['cli/gatehouse.mjs', 'plugins', ...args], { env: process.env });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

let folder: string;
let author: UserIdentity;
let admin: UserIdentity;
const name = `cli-kit-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  configureTestEnvironment();
  author = await createTestUser(['author']);
  admin = await createTestUser(['admin']);
  folder = mkdtempSync(path.join(tmpdir(), 'gatehouse-cli-plugin-'));
  for (const [file, text] of Object.entries(samplePluginFiles({ name, version: '1.0.0' }))) {
    mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
    writeFileSync(path.join(folder, file), text);
  }
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('gatehouse plugins', () => {
  it('publishes a folder, approves it as another user, entitles, lists and withdraws', async () => {
    const published = await gatehouse('publish', folder, '--as', author.email, '--changelog', 'First');
    expect(published.stdout, published.stderr).toMatch(new RegExp(`submitted ${name}@1.0.0 for review .*trace [0-9a-f]{32}`));
    const own = await gatehouse('approve', `${name}@1.0.0`, '--as', author.email);
    expect(own.code).toBe(1);
    expect(own.stderr).toContain('refused: that needs plugins.review');
    const approved = await gatehouse('approve', `${name}@1.0.0`, '--as', admin.email, '--comment', 'ok');
    expect(approved.stdout, approved.stderr).toMatch(/approved and signed .* with organisation key/);
    const entitled = await gatehouse('entitle', name, '--role', 'member', '--as', admin.email);
    expect(entitled.stdout, entitled.stderr).toContain('entitled role member');
    const listed = JSON.parse((await gatehouse('list', '--json')).stdout) as { name: string; latest: string; entitlements: string[] }[];
    expect(listed.find((plugin) => plugin.name === name)).toMatchObject({ latest: '1.0.0', entitlements: ['role:member'] });
    const withdrawn = await gatehouse('withdraw', `${name}@1.0.0`, '--reason', 'superseded', '--as', admin.email);
    expect(withdrawn.stdout, withdrawn.stderr).toContain(`withdrew ${name}@1.0.0`);
    const bad = await gatehouse('withdraw', 'no-version-here');
    expect(bad.code).toBe(2);
  }, 180_000);
});
