// Tenant identity is decided once: the tenant the first start created. A gatehouse.yaml whose
// tenant section changes later (gatehouse.example.yaml copied over the defaults) renames that
// tenant at start and on reload, once however many processes apply it, and never makes the CLI
// or a restart pick or create another tenant. These tests run on a database of their own, since
// the shared test database's installation tenant belongs to every other file.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { ConfigStore, systemTenantId } from '@/lib/config';
import { dropDatabase } from '@/lib/db/admin';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { createTestDatabase } from '@/lib/testing/database';
import { seedFirstAdmin } from './seed';
import { applyTenantConfig, followTenantConfig, primaryTenant } from './tenant';

const exec = promisify(execFile);
const database = `gatehouse_tenant_${randomBytes(4).toString('hex')}`;
let appUrl: string;
let directory: string;
let configFile: string;

const EXAMPLE_TENANT = 'tenant:\n  name: Example Corp\n  slug: example\n';

function recorder() {
  const lines: string[] = [];
  return { lines, logger: { info: (line: string) => lines.push(line), warn: (line: string) => lines.push(`warn ${line}`), error: (line: string) => lines.push(`error ${line}`) } };
}

async function tenants(): Promise<{ slug: string; name: string }[]> {
  return db().tenant.findMany({ select: { slug: true, name: true }, orderBy: { createdAt: 'asc' } });
}

async function renameEvents(): Promise<Record<string, unknown>[]> {
  const { rows } = await pool().query<{ event: { attributes: Record<string, unknown> } }>(
    "SELECT event FROM audit_events WHERE event_type = 'admin.change' AND action = 'tenant.rename' ORDER BY seq",
  );
  return rows.map((row) => row.event.attributes);
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['cli/gatehouse.mjs', ...args], { env: { ...process.env, DATABASE_URL: appUrl, GATEHOUSE_CONFIG: configFile } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  ({ appUrl } = await createTestDatabase(inject('adminDatabaseUrl'), database));
  process.env.DATABASE_URL = appUrl;
  directory = await mkdtemp(path.join(tmpdir(), 'gatehouse-tenant-'));
  configFile = path.join(directory, 'gatehouse.yaml');
  process.env.GATEHOUSE_CONFIG = configFile;
}, 60_000);

afterAll(async () => {
  await drainBackgroundTasks();
  await closeAuditWriter();
  await closeDatabase();
  await dropDatabase(inject('adminDatabaseUrl'), database);
  await rm(directory, { recursive: true, force: true });
});

describe('the installation tenant', () => {
  it('start: a first start with no gatehouse.yaml creates it; a start after copying the example keeps it and its administrator', async () => {
    const dataDir = directory;
    const first = await seedFirstAdmin({ dataDir, password: 'first-start-password-1' });
    expect(first).toMatchObject({ created: true, email: 'admin@gatehouse.local' });
    const installation = await systemTenantId();
    expect(await tenants()).toEqual([{ slug: 'default', name: 'Default' }]);

    await writeFile(configFile, EXAMPLE_TENANT);
    // Before this change: the example's slug made a second tenant, with no administrator, and
    // seeding one failed on the existing email.
    const second = await seedFirstAdmin({ dataDir });
    expect(second).toEqual({ created: false, email: 'admin@gatehouse.local' });
    expect(await tenants()).toHaveLength(1);
    expect(await systemTenantId()).toBe(installation);
    expect((await primaryTenant()).id).toBe(installation);
  });

  it('reload: an edited tenant section renames the same tenant, reported and audited once however many processes apply it', async () => {
    const installation = await systemTenantId();
    const web = recorder();
    const worker = recorder();
    const stores = [web, worker].map(() => new ConfigStore({ path: configFile, watch: false, logger: { info: () => undefined, warn: () => undefined, error: () => undefined } }));
    try {
      // Both start on the copied example: one of them renames default → example.
      await Promise.all([followTenantConfig(stores[0]!, web.logger), followTenantConfig(stores[1]!, worker.logger)]);
      expect([...web.lines, ...worker.lines]).toEqual(['tenant: renamed "default" (Default) to "example" (Example Corp)']);
      expect(await tenants()).toEqual([{ slug: 'example', name: 'Example Corp' }]);

      await writeFile(configFile, 'tenant:\n  name: Acme Inc\n  slug: acme\n');
      await Promise.all(stores.map((store) => store.reload()));
      await drainBackgroundTasks();
      expect([...web.lines, ...worker.lines]).toEqual([
        'tenant: renamed "default" (Default) to "example" (Example Corp)',
        'tenant: renamed "example" (Example Corp) to "acme" (Acme Inc)',
      ]);
      expect(await tenants()).toEqual([{ slug: 'acme', name: 'Acme Inc' }]);
      expect(await systemTenantId()).toBe(installation);
      expect(await renameEvents()).toEqual([
        { previous_name: 'Default', previous_slug: 'default', name: 'Example Corp', slug: 'example' },
        { previous_name: 'Example Corp', previous_slug: 'example', name: 'Acme Inc', slug: 'acme' },
      ]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('a slug another tenant row holds is refused in one line; the name still applies', async () => {
    await db().tenant.create({ data: { slug: 'stray', name: 'Left by an older version' } });
    expect(await applyTenantConfig({ name: 'Acme Group', slug: 'stray' })).toEqual({ kind: 'slug_taken', kept: { name: 'Acme Group', slug: 'acme' }, wanted: { name: 'Acme Group', slug: 'stray' } });
    const slugs = (await tenants()).map((tenant) => tenant.slug);
    expect(slugs).toEqual(['acme', 'stray']);
    expect((await renameEvents()).at(-1)).toEqual({ previous_name: 'Acme Inc', previous_slug: 'acme', name: 'Acme Group', slug: 'acme', refused_slug: 'stray' });
  });

  it('CLI: users created from the command line land in the installation tenant, whatever slug the file names', async () => {
    await writeFile(configFile, 'tenant:\n  name: Someone Else\n  slug: someone-else\n');
    const email = `cli-${randomBytes(3).toString('hex')}@example.com`;
    const created = await cli('users', 'create', '--email', email, '--name', 'Cli User');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const listed = JSON.parse((await cli('users', 'list', '--json')).stdout) as { email: string }[];
    expect(listed.map((user) => user.email).sort()).toEqual(['admin@gatehouse.local', email].sort());
    const users = await db().user.findMany({ select: { email: true, tenantId: true } });
    expect(new Set(users.map((user) => user.tenantId))).toEqual(new Set([await systemTenantId()]));
    expect((await tenants()).map((tenant) => tenant.slug)).not.toContain('someone-else');
  });
});
