/**
 * `npm run bench:gateway`: what Gatehouse adds to a Messages call. A fake Anthropic upstream with
 * a fixed latency and the gateway run in this process; the gateway is served exactly as the
 * production Node server serves /v1/* (the data-plane table through node-adapter), with the full
 * chain: token verification, RBAC, model access, blocklist, secret scan, rate limits and a
 * budget, the request/response audit events with prompt and completion content, cost and the
 * spend ledger. Load comes from a second process (bench/load.ts), first straight at the upstream,
 * then through the gateway; the difference is the gateway's added latency.
 *
 * Needs PostgreSQL: a fresh database on DATABASE_URL's server (dropped afterwards), or an embedded
 * cluster under <GATEHOUSE_DATA_DIR>/bench/ (default .data/bench/) when DATABASE_URL is unset. REDIS_URL, when set, holds the limits.
 * Tunables: BENCH_CONNECTIONS (default 16), BENCH_SECONDS (8), BENCH_UPSTREAM_LATENCY_MS (20).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listenOnLoopback } from '@/lib/platform/net';
import type { LoadOptions, LoadResult } from './load';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
const UPSTREAM_LATENCY_MS = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 20);

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
  claude-sonnet-5-5:
    targets: [{ provider: upstream, model: claude-sonnet-5-5 }]
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
function requestBody(model: string, stream: boolean): string {
  const system = 'You are a coding assistant working in a large TypeScript repository. Follow the project conventions. '.repeat(60);
  return JSON.stringify({
    model,
    max_tokens: 1024,
    stream,
    system: [{ type: 'text', text: system }],
    messages: [{ role: 'user', content: 'Request {{n}}: explain what the function parseConfig does, in two sentences, and suggest a test.' }],
  });
}

function runLoadProcess(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('bench/load.ts'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
      else resolve(JSON.parse(output.trim().split('\n').at(-1)!) as LoadResult);
    });
  });
}

function row(name: string, result: LoadResult): string {
  return `| ${name.padEnd(28)} | ${String(result.requestsPerSecond).padStart(8)} | ${String(result.p50).padStart(7)} | ${String(result.p99).padStart(7)} | ${String(result.ttfbP50).padStart(9)} | ${String(result.errors).padStart(6)} |`;
}

async function main(): Promise<void> {
  const database = await prepareDatabase();
  process.env.DATABASE_URL = database.url;
  process.env.GATEHOUSE_SECRET ||= randomBytes(32).toString('base64url');
  process.env.NEXTAUTH_SECRET ||= randomBytes(32).toString('base64url');
  delete process.env.GATEHOUSE_PUBLIC_URL;
  process.env.GATEHOUSE_REDIS_PREFIX = `gatehouse-bench-${randomBytes(3).toString('hex')}`;
  const directory = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-'));
  process.env.GATEHOUSE_CONFIG = path.join(directory, 'gatehouse.yaml');

  const { startFakeAnthropic } = await import('@/lib/gateway/testing');
  const upstream = await startFakeAnthropic({ behaviour: { kind: 'reply', latencyMs: UPSTREAM_LATENCY_MS } });
  writeFileSync(process.env.GATEHOUSE_CONFIG, gatewayConfig(upstream.url));

  const { matchDataPlane, pathOf } = await import('@/lib/http/data-plane');
  const { serveWithWebHandler } = await import('@/lib/http/node-adapter');
  const server = createServer((req, res) => {
    const handler = matchDataPlane(pathOf(req.url ?? '/'));
    if (handler) void serveWithWebHandler(req, res, handler);
    else res.writeHead(404).end();
  });
  const gatewayUrl = await listenOnLoopback(server);
  // The issuer and the gateway audience come from the public URL, as in production.
  process.env.GATEHOUSE_PUBLIC_URL = gatewayUrl;

  const { ensureTenant } = await import('@/lib/users/tenant');
  const { createUser } = await import('@/lib/users/users');
  const { mintAccessToken } = await import('@/lib/oauth/mint');
  await ensureTenant();
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  await createUser({ email, name: 'Bench', roles: ['member'], department: 'engineering' }, { call_source: 'system' });
  const { accessToken } = await mintAccessToken({ email, issuer: gatewayUrl, ttlSeconds: 3600 });

  const scenarios: { name: string; url: string; headers: Record<string, string>; stream: boolean }[] = [];
  for (const stream of [false, true]) {
    const kind = stream ? 'streaming' : 'non-streaming';
    scenarios.push({ name: `direct, ${kind}`, url: `${upstream.url}/v1/messages`, headers: { 'content-type': 'application/json', 'x-api-key': 'bench' }, stream });
    scenarios.push({ name: `gateway, ${kind}`, url: `${gatewayUrl}/v1/messages`, headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}`, 'anthropic-version': '2023-06-01' }, stream });
  }

  console.log(`bench: ${CONNECTIONS} connections, ${SECONDS} s per run (+${WARMUP_SECONDS} s warm-up), upstream latency ${UPSTREAM_LATENCY_MS} ms, limits in ${process.env.REDIS_URL ? 'Redis' : 'memory'}`);
  const results = new Map<string, LoadResult>();
  for (const scenario of scenarios) {
    const result = await runLoadProcess({ url: scenario.url, headers: scenario.headers, body: requestBody('claude-sonnet-5-5', scenario.stream), connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS });
    results.set(scenario.name, result);
    console.log(`  ${scenario.name}: ${result.requestsPerSecond} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}`);
  }

  console.log('\n| run                          |    req/s | p50 ms  | p99 ms  | ttfb p50  | errors |');
  console.log('|------------------------------|----------|---------|---------|-----------|--------|');
  for (const [name, result] of results) console.log(row(name, result));
  for (const kind of ['non-streaming', 'streaming']) {
    const direct = results.get(`direct, ${kind}`)!;
    const gateway = results.get(`gateway, ${kind}`)!;
    const added = (a: number, b: number) => Math.round((a - b) * 100) / 100;
    console.log(`added by the gateway, ${kind}: p50 +${added(gateway.p50, direct.p50)} ms, p99 +${added(gateway.p99, direct.p99)} ms`);
  }

  // Everything the load did is on the audit chain, and the chain verifies.
  const { pool, closeDatabase } = await import('@/lib/db/client');
  const { verifyAuditChains, closeAuditWriter } = await import('@/lib/audit');
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 500)); // response events still being written
  const { rows } = await pool().query<{ count: string }>("SELECT count(*) FROM audit_events WHERE event_type IN ('inference.request', 'inference.response')");
  const report = await verifyAuditChains(pool());
  console.log(`audit: ${rows[0]!.count} inference events, chains ${report.ok ? 'verify' : 'BROKEN'}`);

  await upstream.close();
  const { closeGatewayLimits } = await import('@/lib/gateway/limits');
  const { closeConfigStore } = await import('@/lib/config');
  await closeGatewayLimits();
  if (process.env.REDIS_URL) {
    const { deleteRedisKeys } = await import('@/lib/gateway/limits/testing/fixtures');
    await deleteRedisKeys(process.env.REDIS_URL, process.env.GATEHOUSE_REDIS_PREFIX);
  }
  await closeConfigStore();
  await closeAuditWriter();
  await closeDatabase();
  await database.cleanUp();
  rmSync(directory, { recursive: true, force: true });
  if (!report.ok) process.exitCode = 1;
}

await main();
