// Idle memory of `npm start`, per process: starts it (scripts/start.mjs, minus npm) on a fresh
// data directory and a free port, waits until it is ready and then idle, and prints RSS and PSS
// (resident memory with shared pages divided among the processes sharing them: what a sum of
// processes really holds), and peak RSS (VmHWM, the most each held since it started: start-up
// included), for the supervisor, each web process, the worker, and the embedded PostgreSQL (the
// postmaster and its children together). Then stops it with Ctrl-C.
//   npm run bench:memory -- [--idle-seconds 30] [--start scripts/start.mjs]
// REDIS_URL and WEB_CONCURRENCY are passed on from the environment; DATABASE_URL is not (the
// single-machine layout runs the embedded cluster). Linux only (/proc).
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { freePort } from '@/lib/platform/net';
import { megabytes, sampleProcess } from './proc';

const { values } = parseArgs({ options: { 'idle-seconds': { type: 'string', default: '30' }, start: { type: 'string', default: 'scripts/start.mjs' } } });
const idleMs = Number(values['idle-seconds']) * 1000;

async function proportionalBytes(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
}

/** Every process with its parent and command line. */
async function processTable(): Promise<{ pid: number; ppid: number; args: string }[]> {
  const rows = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ').trim();
      rows.push({ pid: Number(entry), ppid, args });
    } catch {
      // Exited meanwhile.
    }
  }
  return rows;
}

function descendants(table: { pid: number; ppid: number; args: string }[], root: number): { pid: number; args: string }[] {
  const found = table.filter((row) => row.pid === root);
  for (let i = 0; i < found.length; i++) found.push(...table.filter((row) => row.ppid === found[i]!.pid));
  return found;
}

/** A process's role, from its command line. */
function role(args: string): string {
  if (/\bpostgres\b/.test(args)) return 'postgres';
  const script = /(?:^|\s)(\S+\.(?:mjs|ts))(?:\s|$)/.exec(args.replace(/--import \S+/, ''))?.[1];
  return script ? path.basename(script).replace(/\.(?:mjs|ts)$/, '') : args.split(' ')[0]!;
}

const scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-memory-'));
await chmod(scratch, 0o755);
const dataDir = path.join(scratch, 'data');
const port = await freePort();
const { DATABASE_URL: _database, ...inherited } = process.env;
const child = spawn(process.execPath, [values.start!], {
  cwd: process.cwd(),
  env: { ...inherited, GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_CONFIG: path.join(scratch, 'gatehouse.yaml'), PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_REDIS_PREFIX: `gh-memory-${port}` },
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
});
const lines = createInterface({ input: child.stdout! });
await new Promise<void>((resolve, reject) => {
  lines.on('line', (line) => {
    console.error(`  | ${line}`);
    if (line.startsWith('gatehouse: ready at ')) resolve();
  });
  child.once('exit', (code) => reject(new Error(`npm start exited (${code}) before it was ready`)));
});
console.error(`ready; idle for ${idleMs / 1000} s`);
await new Promise((resolve) => setTimeout(resolve, idleMs));

const table = await processTable();
const postmaster = Number((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
const measured = [...descendants(table, child.pid!), ...descendants(table, postmaster)];
const byRole = new Map<string, { count: number; rss: number; pss: number }>();
// Peak RSS is per process: summed over PostgreSQL's processes (peaks at different times, shared
// buffers counted in each) it would mean nothing, so their row has none.
const rows: { name: string; rss: number; pss: number; peak: number | null }[] = [];
for (const { pid, args } of measured) {
  const name = role(args);
  let rss: number;
  let peak: number;
  let pss: number;
  try {
    ({ rssBytes: rss, peakRssBytes: peak } = sampleProcess(pid));
    pss = await proportionalBytes(pid);
  } catch {
    continue; // exited since the table was read (a PostgreSQL backend whose client left)
  }
  if (name === 'postgres') {
    const sum = byRole.get(name) ?? { count: 0, rss: 0, pss: 0 };
    byRole.set(name, { count: sum.count + 1, rss: sum.rss + rss, pss: sum.pss + pss });
  } else rows.push({ name: `${name} (${pid})`, rss, pss, peak });
}
const postgres = byRole.get('postgres');
if (postgres) rows.push({ name: `postgres (${postgres.count} processes)`, rss: postgres.rss, pss: postgres.pss, peak: null });
const total = rows.reduce((sum, row) => ({ rss: sum.rss + row.rss, pss: sum.pss + row.pss }), { rss: 0, pss: 0 });
console.log(`| process | idle RSS MB | idle PSS MB | peak RSS MB |\n|---|---:|---:|---:|`);
for (const row of rows) console.log(`| ${row.name} | ${megabytes(row.rss)} | ${megabytes(row.pss)} | ${row.peak === null ? '' : megabytes(row.peak)} |`);
console.log(`| total | ${megabytes(total.rss)} | ${megabytes(total.pss)} | |`);

process.kill(-child.pid!, 'SIGINT');
await new Promise((resolve) => child.once('exit', resolve));
await rm(scratch, { recursive: true, force: true });
