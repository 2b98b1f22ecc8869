// The fault suite's rig: Gatehouse laid out as production runs it (from the sources under tsx, not
// the dist/server build) — the web process (scripts/web.ts on the
// built app) and the worker (workers/main.ts), each a process of its own that a test may kill and
// start again — on a PostgreSQL cluster of its own (never the shared server: a test restarts it),
// optionally a redis-server of its own, a fake Anthropic upstream in this process whose answer
// depends on the model asked for, and load from a separate process (faults/load.ts).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '@/lib/db/embedded';
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicBehaviour } from '@/lib/gateway/testing';
import { freePort } from '@/lib/platform/net';
import { createTestDatabase } from '@/lib/testing/database';
import { run, shellEnvironment, stop, type Running } from '@/e2e/processes';
import type { LoadPlan, LoadReport } from './load';

const ROOT = process.cwd();
const execFileAsync = promisify(execFile);

/** The models the rig's gatehouse.yaml serves; each has a provider (and so a circuit breaker) of its own. */
export const FAULT_MODELS = ['claude-fault-ok', 'claude-fault-reset', 'claude-fault-hang', 'claude-fault-cut', 'claude-fault-stall', 'claude-fault-slow'] as const;
export type FaultModel = (typeof FAULT_MODELS)[number];

/** How the fake upstream answers each model; `slow` keeps calls in flight long enough to kill something under them. */
const BEHAVIOURS: Record<FaultModel, FakeAnthropicBehaviour> = {
  'claude-fault-ok': { kind: 'reply', latencyMs: 5 },
  'claude-fault-reset': { kind: 'reset' },
  'claude-fault-hang': { kind: 'hang' },
  'claude-fault-cut': { kind: 'die', afterEvents: 3 },
  'claude-fault-stall': { kind: 'stall', afterEvents: 3 },
  'claude-fault-slow': { kind: 'reply', latencyMs: 10_000 },
};

/** Deadlines a slow answer stays within: only the fault models get the short ones. */
const PATIENT_MODELS: readonly FaultModel[] = ['claude-fault-ok', 'claude-fault-slow'];

/** Upstream deadlines short enough for a test, long enough for a loaded 2-core machine. */
export const UPSTREAM_TIMEOUT_MS = 2_000;
export const RECONCILE_AFTER_SECONDS = 8;

function gatehouseYaml(upstreamUrl: string): string {
  const providers = FAULT_MODELS.map((model) => {
    const deadline = PATIENT_MODELS.includes(model) ? 60_000 : UPSTREAM_TIMEOUT_MS;
    return `  ${model}: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: ${deadline}, non_streaming_timeout_ms: ${deadline}, idle_timeout_ms: ${deadline}, forward_attribution: true }`;
  });
  const models = FAULT_MODELS.map(
    (model) => `  ${model}:\n    targets: [{ provider: ${model}, model: ${model} }]\n    price: { input_per_mtok_microdollars: 3000000, output_per_mtok_microdollars: 15000000 }`,
  );
  return `tenant: { name: Faults, slug: faults }
providers:
${providers.join('\n')}
models:
${models.join('\n')}
policy:
  model_access:
    - match: { role: member }
      allow: ['claude-fault-*']
limits:
  rate:
    - { scope: user, requests_per_minute: 10000000, tokens_per_minute: 1000000000 }
  budgets:
    - { scope: user, period: monthly, limit_microdollars: 1000000000000 }
gateway:
  reconcile_after_seconds: ${RECONCILE_AFTER_SECONDS}
`;
}

/** One upstream request as the fake saw it: the call's trace id and whether it got 2xx headers. */
export interface UpstreamCall {
  traceId: string;
  model: FaultModel;
  answered2xx: boolean;
}

export interface Rig {
  baseUrl: string;
  token: string;
  /** The superuser's URL of the rig's database (evidence queries). */
  superuserUrl: string;
  /** GATEHOUSE_DATA_DIR of web, worker and CLI (the checkpoint key lives there). */
  dataDir: string;
  upstream: FakeAnthropic;
  upstreamCalls: UpstreamCall[];
  web: Running;
  worker: Running;
  startWeb(): Promise<void>;
  startWorker(): Promise<void>;
  /** Stops the cluster (fast shutdown) and starts it again on the same port after `downMs`. */
  restartPostgres(downMs: number): Promise<void>;
  redis: RedisServer | null;
  /** Every line web and worker printed, all incarnations. */
  output(): string;
  close(): Promise<void>;
}

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A redis-server of the rig's own on a free port, with an append-only file as BullMQ needs (its
 * schedules live in Redis): a stop and start keeps the data, as an operator's Redis does.
 */
async function startRedis(dir: string): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'], { stdio: 'ignore' });
    for (let tries = 0; tries < 100; tries += 1) {
      const pong = await execFileAsync('redis-cli', ['-p', String(port), 'ping']).then(({ stdout }) => stdout.trim(), () => '');
      if (pong === 'PONG') return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('redis-server did not start');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
  };
}

/** A member and an access token for the load, made here as `gatehouse users create` and `token mint` do (two CLI starts cost ~10 s on a busy machine). */
async function mintToken(env: NodeJS.ProcessEnv): Promise<string> {
  for (const name of ['DATABASE_URL', 'GATEHOUSE_SECRET', 'GATEHOUSE_PUBLIC_URL', 'GATEHOUSE_CONFIG', 'GATEHOUSE_DATA_DIR'] as const) process.env[name] = env[name];
  const [{ createUser }, { mintAccessToken }, { closeAuditWriter }, { closeDatabase }] = await Promise.all([
    import('@/lib/users/users'),
    import('@/lib/oauth/mint'),
    import('@/lib/audit'),
    import('@/lib/db/client'),
  ]);
  try {
    await createUser({ email: 'load@example.com', name: 'Load', roles: ['member'] }, { call_source: 'system' });
    const { accessToken } = await mintAccessToken({ email: 'load@example.com', issuer: env.GATEHOUSE_PUBLIC_URL!, ttlSeconds: 3600 });
    return accessToken;
  } finally {
    // Nothing of this process may hold a connection when a test restarts PostgreSQL.
    await closeAuditWriter();
    await closeDatabase();
  }
}

export async function startRig(options: { redis?: boolean } = {}): Promise<Rig> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-faults-'));
  // As root, the embedded PostgreSQL runs as the postgres user, who must reach its data directory.
  await chmod(scratch, 0o755);
  const pgPort = await freePort();
  let cluster: EmbeddedServer = await startEmbeddedPostgres(scratch, () => undefined, { port: pgPort });
  const database = `gatehouse_faults_${randomBytes(3).toString('hex')}`;
  const { appUrl, superuserUrl } = await createTestDatabase(cluster.adminUrl, database);
  const redis = options.redis ? await startRedis(scratch) : null;

  const upstreamCalls: UpstreamCall[] = [];
  const upstream = await startFakeAnthropic({
    recordRequests: false,
    behaviour: (request) => {
      const model = (request.body as { model?: string } | null)?.model as FaultModel;
      const behaviour = BEHAVIOURS[model] ?? BEHAVIOURS['claude-fault-ok'];
      upstreamCalls.push({ traceId: request.headers['x-trace-id'] ?? '', model, answered2xx: behaviour.kind === 'reply' || behaviour.kind === 'die' || behaviour.kind === 'stall' });
      return behaviour;
    },
  });

  const configFile = path.join(scratch, 'gatehouse.yaml');
  await writeFile(configFile, gatehouseYaml(upstream.url));
  const dataDir = path.join(scratch, 'data');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const secret = randomBytes(32).toString('base64url');
  const env = shellEnvironment({
    DATABASE_URL: appUrl,
    GATEHOUSE_SECRET: secret,
    GATEHOUSE_PUBLIC_URL: baseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    GATEHOUSE_CONFIG: configFile,
    GATEHOUSE_DATA_DIR: dataDir,
    // The worker's reconciler must find a call open after a crash, not block the run for minutes.
    GATEHOUSE_DB_CONNECT_TIMEOUT_MS: '2000',
    ...(redis ? { REDIS_URL: redis.url, GATEHOUSE_REDIS_PREFIX: `faults-${randomBytes(3).toString('hex')}` } : {}),
  });

  const incarnations: Running[] = [];
  const rig: Rig = {
    baseUrl,
    token: '',
    superuserUrl,
    dataDir,
    upstream,
    upstreamCalls,
    redis,
    web: undefined as unknown as Running,
    worker: undefined as unknown as Running,
    async startWeb() {
      rig.web = run(['scripts/web.ts'], env);
      incarnations.push(rig.web);
      await rig.web.waitFor(/^web: listening on /);
    },
    async startWorker() {
      rig.worker = run(['workers/main.ts'], env);
      incarnations.push(rig.worker);
      await rig.worker.waitFor(/^worker: ready /);
    },
    async restartPostgres(downMs) {
      await cluster.stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      cluster = await startEmbeddedPostgres(scratch, () => undefined, { port: pgPort });
    },
    output: () => incarnations.map((running) => running.lines.join('\n')).join('\n'),
    async close() {
      // Kept for whoever reads a failure: every line web and worker printed.
      await mkdir(path.join(ROOT, '.test-data', 'faults'), { recursive: true });
      await writeFile(path.join(ROOT, '.test-data', 'faults', `${path.basename(scratch)}.log`), rig.output());
      for (const running of incarnations) await stop(running).catch(() => undefined);
      await upstream.close();
      await redis?.stop();
      await cluster.stop();
      await rm(scratch, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all([rig.startWeb(), rig.startWorker()]);
    rig.token = await mintToken(env);
  } catch (error) {
    await rig.close();
    throw error;
  }
  return rig;
}

/** Load from a separate process (faults/load.ts); resolves with its report once it stopped by itself. */
export function startLoad(rig: Rig, plan: Omit<LoadPlan, 'url' | 'token'>): Promise<LoadReport> {
  const full: LoadPlan = { url: `${rig.baseUrl}/v1/messages`, token: rig.token, ...plan };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'faults', 'load.ts'), JSON.stringify(full)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`fault load exited with ${code}`));
      else resolve(JSON.parse(output.trim().split('\n').at(-1)!) as LoadReport);
    });
  });
}

/** Polls `probe` until it returns true, for at most `timeoutMs`. */
export async function eventually(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function query<T extends pg.QueryResultRow>(rig: Rig, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: rig.superuserUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

export interface EvidenceGaps {
  /** Calls that reached the upstream without an inference.request event. */
  upstreamWithoutRequest: string[];
  /** inference.request events without exactly one inference.response (call id: how many). */
  responsesPerRequest: Record<string, number>;
  /** Calls the upstream answered 2xx (so may have billed) without a ledger row. */
  answeredWithoutLedger: string[];
  /** Responses that billed usage without a ledger row. */
  billedWithoutLedger: string[];
}

/**
 * What is missing from the evidence: every call that reached the upstream has its request event,
 * exactly one response event (the gateway's, or the reconciler's `unknown`), and — when the
 * upstream answered 2xx or the response billed anything — a ledger row.
 */
export async function evidenceGaps(rig: Rig): Promise<EvidenceGaps> {
  const requests = await query<{ call_id: string; trace_id: string; responses: number; ledger: boolean }>(
    rig,
    `SELECT r.event_id::text AS call_id, r.trace_id,
            (SELECT count(*)::int FROM audit_events s WHERE s.event_type = 'inference.response' AND s.event->'attributes'->>'call_id' = r.event_id::text) AS responses,
            EXISTS (SELECT 1 FROM spend_entries l WHERE l.call_id = r.event_id) AS ledger
       FROM audit_events r WHERE r.event_type = 'inference.request'`,
  );
  const byTrace = new Map(requests.map((row) => [row.trace_id, row]));
  const billed = await query<{ call_id: string }>(
    rig,
    `SELECT s.event->'attributes'->>'call_id' AS call_id FROM audit_events s
      WHERE s.event_type = 'inference.response' AND s.event->'gen_ai' ? 'input_tokens'
        AND NOT EXISTS (SELECT 1 FROM spend_entries l WHERE l.call_id::text = s.event->'attributes'->>'call_id')`,
  );
  const gaps: EvidenceGaps = { upstreamWithoutRequest: [], responsesPerRequest: {}, answeredWithoutLedger: [], billedWithoutLedger: billed.map((row) => row.call_id) };
  for (const call of rig.upstreamCalls) {
    const request = byTrace.get(call.traceId);
    if (!request) gaps.upstreamWithoutRequest.push(call.traceId);
    else if (call.answered2xx && !request.ledger) gaps.answeredWithoutLedger.push(request.call_id);
  }
  for (const request of requests) if (request.responses !== 1) gaps.responsesPerRequest[request.call_id] = request.responses;
  return gaps;
}

export const NO_GAPS: EvidenceGaps = { upstreamWithoutRequest: [], responsesPerRequest: {}, answeredWithoutLedger: [], billedWithoutLedger: [] };

/** Calls whose request event has no response yet: what the reconciler has to close. */
export async function openCallCount(rig: Rig): Promise<number> {
  const [row] = await query<{ open: number }>(
    rig,
    `SELECT count(*)::int AS open FROM audit_events r WHERE r.event_type = 'inference.request'
        AND NOT EXISTS (SELECT 1 FROM audit_events s WHERE s.event_type = 'inference.response' AND s.event->'attributes'->>'call_id' = r.event_id::text)`,
  );
  return row!.open;
}

/** `gatehouse audit verify` against the rig's database: its exit code and output. */
export async function auditVerify(rig: Rig): Promise<{ code: number; output: string }> {
  const env = shellEnvironment({ DATABASE_URL: rig.superuserUrl, GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE: '1', GATEHOUSE_DATA_DIR: rig.dataDir });
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/gatehouse.mjs', 'audit', 'verify'], { cwd: ROOT, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}
