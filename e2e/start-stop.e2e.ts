// Clean starts and stops, as an operator meets them: `npm start` (scripts/start.mjs, in a
// process group of its own as a terminal's foreground job is) on a fresh data directory with no
// gatehouse.yaml; a second start on the same port, and on the same data directory, each refused
// in one line; gatehouse.yaml created and edited while it runs, each change printed and audited
// once; CLI failures in one line each; Ctrl-C to the whole group, after which no process is left
// and nothing resembling a stack trace was printed; and a second start that says where the saved
// admin password is. One instance serves every case; all on free ports in a temporary directory.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@/lib/platform/net';
import { gatehouseCli, processAlive, processGroupMembers, run, shellEnvironment, stop, type CliResult, type Running } from './processes';

let scratch: string;
let dataDir: string;
let configFile: string;
let port: number;
let baseUrl: string;
let environment: NodeJS.ProcessEnv;
let gatehouse: Running | undefined;
const others: Running[] = [];

interface RuntimeFile {
  databaseUrl: string;
  migrationDatabaseUrl: string;
  publicUrl: string;
  pid: number;
}

async function runtimeFile(): Promise<RuntimeFile> {
  return JSON.parse(await readFile(path.join(dataDir, 'runtime.json'), 'utf8')) as RuntimeFile;
}

/** `npm start`, minus npm: the supervisor in a group of its own, as the shell runs a foreground job. */
function npmStart(env: NodeJS.ProcessEnv = environment): Running {
  return run(['scripts/start.mjs'], env, { tsx: false });
}

/** The policy version the web process is serving, from the gateway's x-policy-version header (sent on a 401 too). */
async function webPolicyVersion(): Promise<string | null> {
  const response = await fetch(`${baseUrl}/v1/models`);
  await response.body?.cancel();
  return response.headers.get('x-policy-version');
}

/** Polls `probe` until it returns a value, for at most `timeoutMs`. */
async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}:\n${gatehouse?.lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Writes gatehouse.yaml, then waits until the worker has reported the change and the web server serves it. */
async function changeConfig(partitionsAhead: number, reportsBefore: number): Promise<string> {
  await writeFile(configFile, `audit:\n  partitions_ahead: ${partitionsAhead}\n`);
  const report = await eventually(() => gatehouse!.lines.filter((line) => line.startsWith('config reloaded: '))[reportsBefore], 'the reload line');
  const next = /→ (pv_[0-9a-f]{16})$/.exec(report)![1]!;
  await eventually(async () => ((await webPolicyVersion()) === next ? true : undefined), `the web server to serve ${next}`);
  return next;
}

function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() !== '');
}

beforeAll(async () => {
  // npm start rebuilds stale sources before it starts; done here, the start below measures only the start.
  const prepare = (await import(path.join(process.cwd(), 'scripts', 'lib', 'prepare.mjs'))) as { buildIfStale(log: (line: string) => void): void };
  prepare.buildIfStale((line) => console.log(`e2e: ${line}`));
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-starts-'));
  // As root, the embedded PostgreSQL runs as the postgres user, who must reach its data directory.
  await chmod(scratch, 0o755);
  dataDir = path.join(scratch, 'data');
  configFile = path.join(scratch, 'gatehouse.yaml');
  port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  environment = shellEnvironment({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_CONFIG: configFile, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_PUBLIC_URL: baseUrl });
}, 600_000);

afterAll(async () => {
  for (const running of [gatehouse, ...others]) await stop(running, { group: true }).catch(() => undefined);
  await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe('npm start, twice, then Ctrl-C', () => {
  it('starts on a fresh data directory and says once that gatehouse.yaml is not there', async () => {
    gatehouse = npmStart();
    await gatehouse.waitFor(/^gatehouse: ready at /);
    // The supervisor says it; the web server and the worker, which load the same file, do not repeat it.
    expect(gatehouse.lines.filter((line) => line.includes(configFile) || line.includes('using defaults'))).toEqual([
      expect.stringMatching(/^config: no .*gatehouse\.yaml, using defaults \(policy version pv_[0-9a-f]{16}\)$/),
      expect.stringMatching(/^config: no models configured/),
    ]);
  }, 240_000);

  it('refuses a second start on the same port in one line, exit 1, and the first keeps serving', async () => {
    const second = npmStart({ ...environment, GATEHOUSE_DATA_DIR: path.join(scratch, 'second') });
    others.push(second);
    expect(await second.exited).toBe(1);
    expect(second.lines).toEqual([`gatehouse: port ${port} is in use (another Gatehouse, or another program): stop it, or set PORT`]);
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
  }, 120_000);

  it('refuses a second start on the same data directory in one line, exit 1', async () => {
    const { pid } = await runtimeFile();
    const second = npmStart({ ...environment, PORT: String(await freePort()) });
    others.push(second);
    expect(await second.exited).toBe(1);
    expect(second.lines).toEqual([`gatehouse: already running on ${dataDir} (pid ${pid}, ${baseUrl}): stop it, or set GATEHOUSE_DATA_DIR`]);
  }, 120_000);

  it('prints and audits each gatehouse.yaml change once, though web and worker both apply it', async () => {
    const first = await changeConfig(5, 0);
    const second = await changeConfig(6, 1);
    expect(first).not.toBe(second);
    expect(gatehouse!.lines.filter((line) => line.startsWith('config reloaded: '))).toEqual([expect.stringMatching(new RegExp(`→ ${first}$`)), expect.stringMatching(new RegExp(`→ ${second}$`))]);

    const client = new pg.Client({ connectionString: (await runtimeFile()).migrationDatabaseUrl });
    await client.connect();
    try {
      // The audit writer commits in groups, a moment after the change: wait for both, then count.
      const count = async () => (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE event_type = 'config.reload'")).rows[0]!.n;
      await eventually(async () => ((await count()) >= 2 ? true : undefined), 'two config.reload audit events', 30_000);
      expect(await count()).toBe(2);
    } finally {
      await client.end();
    }
  }, 180_000);

  it('prints one line per CLI failure: database down, database not migrated, unknown user, bad argument', async () => {
    const runtime = await runtimeFile();
    // A database on the running cluster that nobody migrated.
    const admin = new pg.Client({ connectionString: runtime.migrationDatabaseUrl });
    await admin.connect();
    const empty = `unmigrated_${randomBytes(3).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${empty}`);
    await admin.end();
    const emptyUrl = new URL(runtime.migrationDatabaseUrl);
    emptyUrl.pathname = `/${empty}`;
    const closedPort = await freePort();

    const [down, unmigrated, unknownUser, badArgument, unknownOption] = await Promise.all([
      gatehouseCli(['users', 'list'], { ...environment, DATABASE_URL: `postgres://gatehouse_app:secret@127.0.0.1:${closedPort}/gatehouse` }),
      gatehouseCli(['users', 'list'], { ...environment, DATABASE_URL: emptyUrl.toString(), GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE: '1' }),
      gatehouseCli(['token', 'mint', '--email', 'nobody@example.com'], environment),
      gatehouseCli(['token', 'mint', '--email', 'admin@gatehouse.local', '--ttl', 'soon'], environment),
      gatehouseCli(['users', 'list', '--colour'], environment),
    ]);
    expect([down.code, errorLines(down)]).toEqual([1, [expect.stringMatching(new RegExp(`^gatehouse: cannot reach the database at 127\\.0\\.0\\.1:${closedPort}: `))]]);
    expect([unmigrated.code, errorLines(unmigrated)]).toEqual([1, [expect.stringMatching(/^gatehouse: the database has no Gatehouse tables yet \(.*\): run `gatehouse db migrate`/)]]);
    expect([unknownUser.code, errorLines(unknownUser)]).toEqual([1, ['gatehouse: no user with email nobody@example.com']]);
    expect([badArgument.code, errorLines(badArgument)]).toEqual([2, ['gatehouse: --ttl must be a whole number of seconds']]);
    expect(unknownOption.code).toBe(2);
    expect(errorLines(unknownOption)).toEqual([expect.stringMatching(/^gatehouse: .*--colour/)]);
  }, 120_000);

  it('on a data directory npm start never set up, the CLI migrates it first and says so in one line', async () => {
    const fresh = await gatehouseCli(['users', 'list'], { ...environment, GATEHOUSE_DATA_DIR: path.join(scratch, 'fresh') });
    expect(errorLines(fresh)).toEqual([expect.stringMatching(/^gatehouse: .*fresh has no Gatehouse schema yet; applying \d+ migration\(s\) first$/)]);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout.trim()).toBe('no users');
  }, 120_000);

  it('Ctrl-C stops web and worker, then the embedded PostgreSQL, silently, and leaves no process', async () => {
    const { pid: supervisor } = await runtimeFile();
    const postmaster = Number((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    // The process npm start runs is the supervisor itself: no bootstrap parent waits on it.
    expect(supervisor).toBe(gatehouse!.child.pid);
    const before = gatehouse!.lines.length;

    expect(await stop(gatehouse, { group: true })).toBe(0);
    const stopping = gatehouse!.lines.slice(before);
    expect(stopping.filter((line) => /^\s+at |Error\b|error:|FATAL|ECONNREFUSED|terminat|Unhandled/i.test(line))).toEqual([]);
    const at = (pattern: RegExp) => stopping.findIndex((line) => pattern.test(line));
    expect(at(/^database: embedded PostgreSQL stopped$/)).toBeGreaterThan(at(/^worker: stopped$/));
    expect(at(/^worker: stopped$/)).toBeGreaterThan(-1);
    expect(at(/^database: embedded PostgreSQL stopped$/)).toBeGreaterThan(at(/^web: SIG(INT|TERM) received, closing$/));
    expect(at(/^web: SIG(INT|TERM) received, closing$/)).toBeGreaterThan(-1);

    // A helper that outlives its parent by a moment is given that moment; an exited one awaiting
    // init's reaping (state Z) is not left running.
    const running = (pgid: number) => processGroupMembers(pgid).filter((member) => !/^\d+ Z/.test(member));
    await eventually(() => (running(supervisor).length === 0 ? true : undefined), 'the supervisor\'s process group to empty', 15_000).catch(() => undefined);
    expect(running(supervisor)).toEqual([]);
    expect(processAlive(postmaster)).toBe(false);
    expect(existsSync(path.join(dataDir, 'runtime.json'))).toBe(false);
  }, 120_000);

  it('a second start says where the saved admin password is', async () => {
    gatehouse = npmStart();
    await gatehouse.waitFor(/^gatehouse: ready at /);
    expect(gatehouse.lines).toContain(`admin: admin@gatehouse.local (existing; the password generated at the first start is in ${path.join(dataDir, 'admin-credentials')})`);
    expect(await stop(gatehouse, { group: true })).toBe(0);
  }, 240_000);

  it('after a SIGKILLed supervisor, the worker drains and exits, and the next start stops the PostgreSQL it left and starts', async () => {
    gatehouse = npmStart();
    await gatehouse.waitFor(/^gatehouse: ready at /);
    const supervisor = gatehouse.child.pid!;
    const postmaster = Number((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    gatehouse.child.kill('SIGKILL');
    await gatehouse.exited;
    // The worker saw its IPC channel close and drained; the web processes (cluster workers) exit with theirs.
    await eventually(() => (gatehouse!.lines.includes('worker: stopped') ? true : undefined), 'the worker to stop', 30_000);
    const running = (pgid: number) => processGroupMembers(pgid).filter((member) => !/^\d+ Z/.test(member));
    await eventually(() => (running(supervisor).length === 0 ? true : undefined), 'the supervisor\'s process group to empty', 30_000).catch(() => undefined);
    expect(running(supervisor)).toEqual([]);
    // PostgreSQL, in a session of its own, is still there: the runtime file names a dead supervisor.
    expect(processAlive(postmaster)).toBe(true);
    expect(existsSync(path.join(dataDir, 'runtime.json'))).toBe(true);

    gatehouse = npmStart();
    await gatehouse.waitFor(/^gatehouse: ready at /);
    expect(gatehouse.lines).toContain(`database: stopped the embedded PostgreSQL (pid ${postmaster}) a previous start left running`);
    expect(processAlive(postmaster)).toBe(false);

    // Closing the terminal: SIGHUP to the whole foreground group drains as Ctrl-C does (once
    // the worker is up: before its handlers are installed, it has nothing to drain).
    await gatehouse.waitFor(/^worker: ready /);
    const before = gatehouse.lines.length;
    process.kill(-gatehouse.child.pid!, 'SIGHUP');
    expect(await gatehouse.exited).toBe(0);
    const stopping = gatehouse.lines.slice(before);
    // Each child drains (had SIGHUP's default killed one, it would not say so): whether on the
    // SIGHUP itself or the supervisor's SIGTERM just after, whichever it handled first.
    expect(stopping).toEqual(expect.arrayContaining([expect.stringMatching(/^web: SIG(HUP|TERM) received, closing$/), expect.stringMatching(/^worker: SIG(HUP|TERM) received, closing$/), 'worker: stopped', 'database: embedded PostgreSQL stopped']));
    expect(stopping.indexOf('database: embedded PostgreSQL stopped')).toBeGreaterThan(stopping.indexOf('worker: stopped'));
  }, 360_000);
});
