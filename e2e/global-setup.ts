import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { closeAuditWriter } from '@/lib/audit';
import { generatePassword } from '@/lib/auth/password';
import { dropDatabase } from '@/lib/db/admin';
import { closeDatabase } from '@/lib/db/client';
import { startEmbeddedPostgres, type EmbeddedServer } from '@/lib/db/embedded';
import { createTestDatabase } from '@/lib/testing/database';
import { freePort } from '@/lib/platform/net';
import { seedFirstAdmin } from '@/lib/users/seed';
import { startSsoFixture, type SsoFixture } from './sso-fixture';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eBaseUrl: string;
    e2eAdminEmail: string;
    e2eAdminPassword: string;
    /** The app role's URL of the e2e database, for tests that seed what no page can create (spend). */
    e2eDatabaseUrl: string;
    /** The gatehouse.yaml the server watches: a test may edit it (the server reloads it live). */
    e2eConfigPath: string;
  }
}

const ROOT = process.cwd();
const ADMIN_EMAIL = 'admin@example.com';
const READY_DEADLINE_MS = 120_000;
const STOP_DEADLINE_MS = 15_000;

function log(line: string): void {
  console.log(`e2e: ${line}`);
}

/** Seeds through the product's own first-run path, against the fresh database. */
async function seedAdmin(databaseUrl: string, dataDir: string): Promise<string> {
  const previous = process.env.DATABASE_URL;
  process.env.DATABASE_URL = databaseUrl; // db() and the audit writer read it
  try {
    const password = generatePassword();
    await seedFirstAdmin({ email: ADMIN_EMAIL, password, dataDir });
    return password;
  } finally {
    await closeAuditWriter();
    await closeDatabase();
    process.env.DATABASE_URL = previous;
  }
}

function buildIfMissing(): void {
  if (existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) return;
  log('no build found, running next build');
  const result = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/next/dist/bin/next'), 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`next build failed (exit ${result.status ?? result.signal})`);
}

interface RunningServer {
  child: ChildProcess;
  output: string[];
}

function startServer(env: NodeJS.ProcessEnv): RunningServer {
  const output: string[] = [];
  // `node --import tsx` rather than the tsx CLI: one process, so a signal reaches the server itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/web.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => output.push(chunk));
  }
  return { child, output };
}

async function waitUntilReady(baseUrl: string, server: RunningServer): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`web server exited (${server.child.exitCode ?? server.child.signalCode}) before it was ready:\n${server.output.join('')}`);
    }
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`web server not ready after ${READY_DEADLINE_MS} ms (last: ${last}):\n${server.output.join('')}`);
}

async function stopServer(server: RunningServer): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * A fresh database (on DATABASE_URL's server, or an embedded cluster under .test-data/e2e),
 * migrated and seeded with one admin; the built app served by scripts/web.ts on a free port.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-e2e-'));
  let embedded: EmbeddedServer | undefined;
  let server: RunningServer | undefined;
  let adminUrl: string | undefined;
  let sso: SsoFixture | undefined;
  const database = `gatehouse_e2e_${runId}`;

  const teardown = async () => {
    if (server) await stopServer(server);
    if (adminUrl) await dropDatabase(adminUrl, database).catch((error: Error) => console.warn(`e2e: could not drop ${database}: ${error.message}`));
    await embedded?.stop();
    await sso?.idp.close();
    await rm(scratch, { recursive: true, force: true });
  };

  try {
    if (process.env.DATABASE_URL) {
      adminUrl = process.env.DATABASE_URL;
    } else {
      embedded = await startEmbeddedPostgres(path.join(ROOT, '.test-data', 'e2e'));
      adminUrl = embedded.adminUrl;
    }
    // The web server logs in as the least-privileged application role, as in production.
    const { appUrl: databaseUrl } = await createTestDatabase(adminUrl, database);
    const adminPassword = await seedAdmin(databaseUrl, scratch);

    buildIfMissing();
    // A fake OpenID provider, offered on the sign-in page through gatehouse.yaml's `sso` section.
    sso = await startSsoFixture(path.join(scratch, 'gatehouse.yaml'));
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const secret = randomBytes(32).toString('base64url');
    server = startServer({
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_SECRET: secret,
      NEXTAUTH_SECRET: secret,
      // The issuer, token audiences and next-auth's URL: the address the browser uses.
      GATEHOUSE_PUBLIC_URL: baseUrl,
      NEXTAUTH_URL: baseUrl,
      // The scratch gatehouse.yaml (defaults plus the fake IdP), whatever the developer keeps in the checkout.
      GATEHOUSE_CONFIG: path.join(scratch, 'gatehouse.yaml'),
      GATEHOUSE_DATA_DIR: scratch,
      ...sso.env,
    });
    await waitUntilReady(baseUrl, server);
    log(`web server ready at ${baseUrl}`);

    project.provide('e2eBaseUrl', baseUrl);
    project.provide('e2eAdminEmail', ADMIN_EMAIL);
    project.provide('e2eAdminPassword', adminPassword);
    project.provide('e2eDatabaseUrl', databaseUrl);
    project.provide('e2eIdpUrl', sso.idp.issuer);
    project.provide('e2eConfigPath', path.join(scratch, 'gatehouse.yaml'));
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
