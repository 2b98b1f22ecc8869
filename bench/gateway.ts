/**
 * `npm run bench`: what Gatehouse costs in front of a Messages upstream, beside Portkey's
 * open-source gateway (@portkey-ai/gateway, no policy) doing the same. In one run, the same
 * workload goes straight to a fake Anthropic upstream ("direct"), through Gatehouse with the full
 * chain (token verification, RBAC, model access, blocklist, secret scan, rate limit, budget
 * reservation, routing, the request/response audit events with prompt and completion content,
 * cost and the spend ledger), and through Portkey proxying to the same upstream. Non-streaming
 * and streaming (64 events, paced), 1 and 20 connections. Every server and the load generator
 * run in processes of their own; CPU and memory are read per process from /proc (Linux).
 *
 * Writes bench/results/<date>.md and .json. `--soak [--minutes N]` (30 by default) instead drives
 * Gatehouse at 20 connections for N minutes and reports its RSS over time.
 *
 * Needs PostgreSQL: a fresh database on DATABASE_URL's server (dropped afterwards), or an embedded
 * cluster under <GATEHOUSE_DATA_DIR>/bench/ (default .data/bench/) when DATABASE_URL is unset.
 * REDIS_URL, when set, holds the limits. Options: --seconds N (8), --connections 1,20,
 * --modes non-streaming,streaming, --targets direct,gatehouse,portkey, --profile (V8 CPU profile of
 * the Gatehouse process into bench/results/profiles/), --no-write. Environment:
 * BENCH_UPSTREAM_LATENCY_MS (0), BENCH_EVENT_DELAY_MS (2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { freePort } from '@/lib/platform/net';
import type { LoadOptions, LoadResult } from './load';
import { megabytes, sampleProcess, type ProcessSample } from './proc';

const { values: args } = parseArgs({
  options: {
    soak: { type: 'boolean', default: false },
    minutes: { type: 'string', default: '30' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '1,20' },
    modes: { type: 'string', default: 'non-streaming,streaming' },
    targets: { type: 'string', default: 'direct,gatehouse,portkey' },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});

const SECONDS = Number(args.seconds);
const WARMUP_SECONDS = 2;
/** Before its first measured run, each server is warmed up (JIT, connection pools, caches) at 20 connections for this long. */
const SERVER_WARMUP_SECONDS = 6;
const IDLE_SECONDS = 3;
const UPSTREAM_LATENCY_MS = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 0);
const EVENT_DELAY_MS = Number(process.env.BENCH_EVENT_DELAY_MS ?? 2);
/** 64 events per streamed answer: message_start, block start, ping, 58 deltas, block stop, message_delta, message_stop. */
const TEXT_DELTAS = 58;
const MODEL = 'claude-sonnet-5-5';
const RESULTS_DIR = path.resolve('bench/results');

type Target = 'direct' | 'gatehouse' | 'portkey';
type Mode = 'non-streaming' | 'streaming';

async function prepareDatabase(): Promise<{ url: string; cleanUp: () => Promise<void> }> {
  const { dropDatabase } = await import('@/lib/db/admin');
  const { createTestDatabase } = await import('@/lib/testing/database');
  let adminUrl: string;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (process.env.DATABASE_URL) adminUrl = process.env.DATABASE_URL;
  else {
    const { startEmbeddedPostgres } = await import('@/lib/db/embedded');
    const { dataDir } = await import('@/lib/db/server');
    const embedded = await startEmbeddedPostgres(path.join(dataDir(), 'bench'));
    adminUrl = embedded.adminUrl;
    stopEmbedded = () => embedded.stop();
  }
  const database = `gatehouse_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  // Logging in as the application role, as production does.
  const { appUrl: url } = await createTestDatabase(adminUrl, database);
  return {
    url,
    cleanUp: async () => {
      await dropDatabase(adminUrl, database).catch((error: Error) => console.warn(`could not drop ${database}: ${error.message}`));
      await stopEmbedded?.();
    },
  };
}

function gatewayConfig(upstreamUrl: string): string {
  return `
tenant: { name: Bench, slug: bench }
providers:
  upstream: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: 10000 }
models:
  ${MODEL}:
    targets: [{ provider: upstream, model: ${MODEL} }]
    price: { input_per_mtok_microdollars: 3000000, output_per_mtok_microdollars: 15000000 }
policy:
  model_access:
    - match: { role: member }
      allow: ['claude-sonnet-*', 'claude-haiku-*']
  blocklist:
    terms: [project-nightingale, codename-falcon, internal-only-roadmap]
    patterns: ['\\bCUST-\\d{6}\\b', '(?i)do[-_ ]not[-_ ]share']
  secrets: { mode: redact }
limits:
  rate:
    - { scope: user, requests_per_minute: 10000000, tokens_per_minute: 1000000000 }
  budgets:
    - { scope: user, period: monthly, limit_microdollars: 1000000000000 }
`;
}

/** A Claude Code-sized system prompt (the same on every call) and a new user turn per request. */
function requestBody(stream: boolean): string {
  const system = 'You are a coding assistant working in a large TypeScript repository. Follow the project conventions. '.repeat(60);
  return JSON.stringify({
    model: MODEL,
    max_tokens: 1024,
    stream,
    system: [{ type: 'text', text: system }],
    messages: [{ role: 'user', content: 'Request {{n}}: explain what the function parseConfig does, in two sentences, and suggest a test.' }],
  });
}

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  idle?: ProcessSample;
  idleCpuMsPerSecond?: number;
}

/** Starts a server process and waits for the first line it prints on stdout (its URL, or a readiness line). */
function startServer(name: string, command: string, argv: string[], env: NodeJS.ProcessEnv, ready: (line: string) => string | null): Promise<Server> {
  const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    lines.on('line', (line) => {
      const url = ready(line);
      if (url === null) return;
      clearTimeout(timer);
      // Later output (Portkey's banner, logs) is drained and dropped.
      lines.removeAllListeners('line');
      lines.on('line', () => undefined);
      resolve({ name, url, child });
    });
  });
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const deadline = setTimeout(() => server.child.kill('SIGKILL'), 40_000);
  await exited;
  clearTimeout(deadline);
}

const TSX = ['--import', 'tsx'];

async function startPortkey(): Promise<Server> {
  const port = await freePort();
  const script = path.resolve('node_modules/@portkey-ai/gateway/build/start-server.js');
  // NODE_ENV=production and --headless: no web UI, as a production deployment runs it.
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  return startServer('portkey', process.execPath, ['--import', path.resolve('bench/portkey-node-fix.mjs'), script, `--port=${port}`, '--headless'], env, (line) =>
    line.includes('Ready for connections') ? `http://127.0.0.1:${port}` : null,
  );
}

interface Scenario {
  target: Target;
  mode: Mode;
  connections: number;
}

interface ScenarioResult extends Scenario {
  load: LoadResult;
  /** CPU of the server process under test over the measured window, per answered request. */
  cpuMsPerRequest: number;
  /** Share of one core the server process used over the measured window. */
  cpuShare: number;
}

/** Runs the load process; the server's CPU is sampled when the warm-up ends and when the load ends. */
function runLoadProcess(options: LoadOptions, pid: number): Promise<{ load: LoadResult; cpuMs: number; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TSX, path.resolve('bench/load.ts'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    let start: { cpuMs: number; at: number } | undefined;
    let end: { cpuMs: number; at: number } | undefined;
    let result: LoadResult | undefined;
    lines.on('line', (line) => {
      if (line === '{"phase":"measuring"}') start = { cpuMs: sampleProcess(pid).cpuMs, at: performance.now() };
      else {
        end = { cpuMs: sampleProcess(pid).cpuMs, at: performance.now() };
        result = JSON.parse(line) as LoadResult;
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 || !result || !start || !end) reject(new Error(`load generator exited with ${code}`));
      else resolve({ load: result, cpuMs: end.cpuMs - start.cpuMs, wallMs: end.at - start.at });
    });
  });
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function machine(): Record<string, string> {
  const cpus = os.cpus();
  return {
    cpu: `${cpus.length} × ${cpus[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    'load average (1, 5, 15 min) at start': os.loadavg().map((load) => load.toFixed(2)).join(', '),
  };
}

function added(result: ScenarioResult, direct: ScenarioResult | undefined, key: 'p50' | 'p90' | 'p99' | 'ttftP50' | 'ttftP99'): string {
  if (!direct) return '–';
  return `${round(result.load[key] - direct.load[key])}`;
}

interface MemoryRow {
  process: string;
  idleRssMb: number | null;
  peakRssMb: number;
  idleCpuMsPerSecond: number | null;
}

/** Idle (before any load) and peak RSS of every server process; call while they still run. */
function memoryRows(servers: Map<Target, Server>): MemoryRow[] {
  return [...servers].map(([target, server]) => ({
    process: target === 'direct' ? 'fake upstream' : target,
    idleRssMb: server.idle ? megabytes(server.idle.rssBytes) : null,
    peakRssMb: megabytes(sampleProcess(server.child.pid!).peakRssBytes),
    idleCpuMsPerSecond: server.idleCpuMsPerSecond === undefined ? null : round(server.idleCpuMsPerSecond, 1),
  }));
}

function table(results: ScenarioResult[], memory: MemoryRow[]): string {
  const lines = [
    '| mode | conns | target | req/s | p50 / p90 / p99 ms | added p50 / p90 / p99 ms | TTFT p50 ms | added TTFT p50 / p99 ms | CPU ms/req | CPU % of a core | errors |',
    '|---|---:|---|---:|---|---|---:|---|---:|---:|---:|',
  ];
  for (const result of results) {
    const direct = results.find((other) => other.target === 'direct' && other.mode === result.mode && other.connections === result.connections);
    const isDirect = result.target === 'direct';
    const { load } = result;
    lines.push(
      `| ${result.mode} | ${result.connections} | ${result.target} | ${load.requestsPerSecond} | ${load.p50} / ${load.p90} / ${load.p99} | ` +
        `${isDirect ? '–' : `${added(result, direct, 'p50')} / ${added(result, direct, 'p90')} / ${added(result, direct, 'p99')}`} | ` +
        `${result.mode === 'streaming' ? load.ttftP50 : '–'} | ${result.mode === 'streaming' && !isDirect ? `${added(result, direct, 'ttftP50')} / ${added(result, direct, 'ttftP99')}` : '–'} | ` +
        `${round(result.cpuMsPerRequest, 3)} | ${Math.round(result.cpuShare * 100)} | ${load.errors} |`,
    );
  }
  lines.push('', '| process | idle RSS MB | peak RSS MB | idle CPU ms/s |', '|---|---:|---:|---:|');
  for (const row of memory) lines.push(`| ${row.process} | ${row.idleRssMb ?? '–'} | ${row.peakRssMb} | ${row.idleCpuMsPerSecond ?? '–'} |`);
  return lines.join('\n');
}

function ratioLine(results: ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const mode of ['non-streaming', 'streaming'] as const) {
    for (const connections of [1, 20]) {
      const find = (target: Target) => results.find((r) => r.target === target && r.mode === mode && r.connections === connections);
      const gatehouse = find('gatehouse');
      const portkey = find('portkey');
      if (gatehouse && portkey) {
        out.push(`${mode}, ${connections} connection(s): Gatehouse ${gatehouse.load.requestsPerSecond} req/s = ${round(gatehouse.load.requestsPerSecond / portkey.load.requestsPerSecond)}× Portkey's ${portkey.load.requestsPerSecond}; CPU ${round(gatehouse.cpuMsPerRequest, 3)} vs ${round(portkey.cpuMsPerRequest, 3)} ms/request`);
      }
    }
  }
  return out;
}

async function main(): Promise<void> {
  const database = await prepareDatabase();
  const secret = process.env.GATEHOUSE_SECRET || randomBytes(32).toString('base64url');
  process.env.DATABASE_URL = database.url;
  process.env.GATEHOUSE_SECRET = secret;
  process.env.NEXTAUTH_SECRET ||= randomBytes(32).toString('base64url');
  delete process.env.GATEHOUSE_PUBLIC_URL;
  process.env.GATEHOUSE_REDIS_PREFIX = `gatehouse-bench-${randomBytes(3).toString('hex')}`;
  const directory = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-'));
  process.env.GATEHOUSE_CONFIG = path.join(directory, 'gatehouse.yaml');
  const started = new Date();
  const machineInfo = machine();
  const servers = new Map<Target, Server>();
  const results: ScenarioResult[] = [];
  let verified: { events: number; ok: boolean } | undefined;
  let soak: { minutes: number; samples: { minute: number; rssMb: number }[]; load: LoadResult } | undefined;
  try {
    const upstream = await startServer('upstream', process.execPath, [...TSX, path.resolve('bench/upstream.ts'), JSON.stringify({ latencyMs: UPSTREAM_LATENCY_MS, eventDelayMs: EVENT_DELAY_MS, textDeltas: TEXT_DELTAS })], process.env, (line) => line);
    servers.set('direct', upstream);
    writeFileSync(process.env.GATEHOUSE_CONFIG, gatewayConfig(upstream.url));

    const { ensureTenant } = await import('@/lib/users/tenant');
    const { createUser } = await import('@/lib/users/users');
    const { mintAccessToken } = await import('@/lib/oauth/mint');
    await ensureTenant();
    const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
    await createUser({ email, name: 'Bench', roles: ['member'], department: 'engineering' }, { call_source: 'system' });

    const targets = new Set(args.targets.split(',') as Target[]);
    const profileDir = path.join(RESULTS_DIR, 'profiles');
    if (args.profile) mkdirSync(profileDir, { recursive: true });
    const gatehouseArgs = [...(args.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), ...TSX, ...(process.env.BENCH_GATEHOUSE_IMPORT ? ['--import', process.env.BENCH_GATEHOUSE_IMPORT] : []), path.resolve('bench/gateway-server.ts')];
    const gatehouse = await startServer('gatehouse', process.execPath, gatehouseArgs, { ...process.env, NODE_ENV: 'production' }, (line) => line);
    servers.set('gatehouse', gatehouse);
    process.env.GATEHOUSE_PUBLIC_URL = gatehouse.url;
    const { accessToken } = await mintAccessToken({ email, issuer: gatehouse.url, ttlSeconds: 3 * 3600 });
    if (targets.has('portkey') && !args.soak) servers.set('portkey', await startPortkey());

    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const server of servers.values()) server.idle = sampleProcess(server.child.pid!);
    // What each server spends with no requests at all (timers, polling), per second.
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    for (const server of servers.values()) server.idleCpuMsPerSecond = (sampleProcess(server.child.pid!).cpuMs - server.idle!.cpuMs) / IDLE_SECONDS;

    const request = (target: Target): { url: string; headers: Record<string, string> } => {
      const json = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
      if (target === 'direct') return { url: `${upstream.url}/v1/messages`, headers: { ...json, 'x-api-key': 'bench' } };
      if (target === 'gatehouse') return { url: `${gatehouse.url}/v1/messages`, headers: { ...json, authorization: `Bearer ${accessToken}` } };
      return {
        url: `${servers.get('portkey')!.url}/v1/messages`,
        headers: { ...json, 'x-api-key': 'bench', 'x-portkey-provider': 'anthropic', 'x-portkey-custom-host': `${upstream.url}/v1` },
      };
    };

    if (args.soak) console.log(`bench: soak, Gatehouse at 20 connections for ${args.minutes} min; load ${os.loadavg()[0]!.toFixed(2)}`);
    else console.log(`bench: ${SECONDS} s per run (+${WARMUP_SECONDS} s warm-up), upstream latency ${UPSTREAM_LATENCY_MS} ms, ${TEXT_DELTAS + 6} events ${EVENT_DELAY_MS} ms apart per stream, limits in ${process.env.REDIS_URL ? 'Redis' : 'memory'}; load ${os.loadavg()[0]!.toFixed(2)}`);
    if (args.soak) {
      soak = await runSoak(gatehouse, request('gatehouse'), Number(args.minutes));
    } else {
      const scenarios: Scenario[] = [];
      for (const mode of args.modes.split(',') as Mode[]) {
        for (const connections of args.connections.split(',').map(Number)) {
          for (const target of ['direct', 'gatehouse', 'portkey'] as const) if (targets.has(target)) scenarios.push({ target, mode, connections });
        }
      }
      for (const target of new Set(scenarios.map((scenario) => scenario.target))) {
        const { url, headers } = request(target);
        for (const stream of [false, true]) {
          await runLoadProcess({ url, headers, body: requestBody(stream), connections: 20, seconds: 1, warmupSeconds: SERVER_WARMUP_SECONDS / 2 }, servers.get(target)!.child.pid!);
        }
      }
      for (const scenario of scenarios) {
        const server = servers.get(scenario.target)!;
        const { url, headers } = request(scenario.target);
        const run = await runLoadProcess(
          { url, headers, body: requestBody(scenario.mode === 'streaming'), connections: scenario.connections, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS },
          server.child.pid!,
        );
        const result: ScenarioResult = { ...scenario, load: run.load, cpuMsPerRequest: run.cpuMs / Math.max(1, run.load.requests), cpuShare: run.cpuMs / run.wallMs };
        results.push(result);
        console.log(
          `  ${scenario.mode}, ${scenario.connections} conn, ${scenario.target}: ${run.load.requestsPerSecond} req/s, p50 ${run.load.p50} p99 ${run.load.p99} ms, ttft p50 ${run.load.ttftP50} ms, CPU ${round(result.cpuMsPerRequest, 3)} ms/req, errors ${run.load.errors}`,
        );
      }
    }

    const memory = memoryRows(servers);
    const report = table(results, memory);
    if (!args.soak) console.log(`\n${report}\n\n${ratioLine(results).join('\n')}`);

    // Everything the load did is on the audit chain, and the chain verifies.
    await stopServer(gatehouse);
    const { pool } = await import('@/lib/db/client');
    const { verifyAuditChains } = await import('@/lib/audit');
    const { rows } = await pool().query<{ count: string }>("SELECT count(*) FROM audit_events WHERE event_type IN ('inference.request', 'inference.response')");
    const chains = await verifyAuditChains(pool());
    verified = { events: Number(rows[0]!.count), ok: chains.ok };
    console.log(`audit: ${verified.events} inference events, chains ${chains.ok ? 'verify' : 'BROKEN'}`);

    if (!args['no-write']) writeResults({ started, machineInfo, results, report, soak, verified, memory });
  } finally {
    for (const server of servers.values()) await stopServer(server);
    const { closeAuditWriter } = await import('@/lib/audit');
    const { closeDatabase } = await import('@/lib/db/client');
    await closeAuditWriter();
    await closeDatabase();
    await database.cleanUp();
    rmSync(directory, { recursive: true, force: true });
  }
  if (verified && !verified.ok) process.exitCode = 1;
}

/** Gatehouse at 20 connections, non-streaming, for `minutes`; its RSS sampled about 30 times. */
async function runSoak(gatehouse: Server, target: { url: string; headers: Record<string, string> }, minutes: number) {
  const pid = gatehouse.child.pid!;
  const samples: { minute: number; rssMb: number }[] = [];
  const startedAt = performance.now();
  const every = Math.max(5_000, (minutes * 60_000) / 30);
  const sample = () => samples.push({ minute: round((performance.now() - startedAt) / 60_000), rssMb: megabytes(sampleProcess(pid).rssBytes) });
  sample();
  const timer = setInterval(sample, every);
  try {
    const run = await runLoadProcess({ ...target, body: requestBody(false), connections: 20, seconds: minutes * 60, warmupSeconds: 0 }, pid);
    sample();
    console.log(`soak: ${minutes} min, ${run.load.requests} requests (${run.load.requestsPerSecond} req/s), errors ${run.load.errors}`);
    for (const point of samples) console.log(`  ${point.minute.toFixed(2).padStart(6)} min  RSS ${point.rssMb} MB`);
    return { minutes, samples, load: run.load };
  } finally {
    clearInterval(timer);
  }
}

function writeResults(input: {
  started: Date;
  machineInfo: Record<string, string>;
  results: ScenarioResult[];
  report: string;
  soak: { minutes: number; samples: { minute: number; rssMb: number }[]; load: LoadResult } | undefined;
  verified: { events: number; ok: boolean };
  memory: MemoryRow[];
}): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const date = input.started.toISOString().slice(0, 10);
  const base = path.join(RESULTS_DIR, input.soak ? `${date}-soak` : date);
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const machineLines = [...Object.entries(input.machineInfo), ['load average at end', os.loadavg().map((load) => load.toFixed(2)).join(', ')]].map(([k, v]) => `- ${k}: ${v}`);
  let markdown: string;
  if (input.soak) {
    markdown = [
      `# Gatehouse soak, ${input.started.toISOString()}`,
      '',
      `\`${command}\` — ${input.soak.minutes} min at 20 connections, non-streaming; ${input.soak.load.requests} requests, ${input.soak.load.errors} errors.`,
      '',
      ...machineLines,
      '',
      '| minute | web process RSS MB |',
      '|---:|---:|',
      ...input.soak.samples.map((point) => `| ${point.minute} | ${point.rssMb} |`),
      '',
      `Audit: ${input.verified.events} inference events, chains ${input.verified.ok ? 'verify' : 'BROKEN'}.`,
    ].join('\n');
  } else {
    markdown = [
      `# Gatehouse vs Portkey, ${input.started.toISOString()}`,
      '',
      `\`${command}\` — ${SECONDS} s per run after ${WARMUP_SECONDS} s warm-up; upstream latency ${UPSTREAM_LATENCY_MS} ms; streams of ${TEXT_DELTAS + 6} events ${EVENT_DELAY_MS} ms apart; limits in ${process.env.REDIS_URL ? 'Redis' : 'memory'}. "added" is the target's figure minus direct's at the same percentile.`,
      '',
      ...machineLines,
      '',
      input.report,
      '',
      ...ratioLine(input.results).map((line) => `- ${line}`),
      '',
      `Audit: ${input.verified.events} inference events, chains ${input.verified.ok ? 'verify' : 'BROKEN'}.`,
    ].join('\n');
  }
  writeFileSync(`${base}.md`, `${markdown}\n`);
  writeFileSync(`${base}.json`, `${JSON.stringify({ started: input.started, command, machine: input.machineInfo, results: input.results, memory: input.memory, soak: input.soak, audit: input.verified }, null, 2)}\n`);
  console.log(`bench: wrote ${path.relative(process.cwd(), base)}.md and .json`);
}

await main();
