#!/usr/bin/env node
// `npm start` (`npm run dev` with --dev): the supervisor, and the only process that stays besides
// Gatehouse's own. Plain JavaScript that imports nothing of the app, so it holds little memory:
//   1. installs what is missing and builds what is stale (scripts/lib/prepare.mjs);
//   2. runs the one-shot setup (scripts/setup.ts) as a child that exits when done: config check,
//      database (the embedded cluster, left running in a session of its own), migrations, first
//      admin; it hands over the children's environment and the cluster's pid (PreparedMessage,
//      lib/platform/supervisor.ts);
//   3. runs the web processes (node:cluster, sharing the port; how many: webProcessPlan) and the
//      worker; Ctrl-C or SIGTERM stops them, waits for them to drain, then stops the cluster.
// Production runs the ahead-of-time build (dist/server/); development the sources under tsx.
import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { childNodeFlags } from './lib/node-flags.mjs';
import { buildClientsIfStale, buildIfStale, buildServersIfStale, generatePrismaClient, installDependencies, root } from './lib/prepare.mjs';
import { serverEntry } from './lib/server-bundle.mjs';

const dev = process.argv.includes('--dev');
const passedOn = process.argv.slice(2);
const say = (step, message) => console.log(`${step}: ${message}`);
const log = (line) => say('gatehouse', line);

installDependencies(log);
generatePrismaClient(log);
if (!dev) {
  buildIfStale(log);
  await buildServersIfStale(log);
}
await buildClientsIfStale(log);

const SOURCES = { setup: 'scripts/setup.ts', web: 'scripts/web.ts', worker: 'workers/main.ts' };
const nodeArgs = dev ? ['--import', 'tsx'] : [];
// V8 flags of the long-lived processes (why: scripts/lib/node-flags.mjs; GATEHOUSE_NODE_FLAGS overrides).
const v8Flags = (name) => childNodeFlags(name);
const programFile = (name) => (dev ? path.join(root, SOURCES[name]) : serverEntry(name));
const withTsx = (env) => (dev ? { ...env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json') } : env);
// A child that has not finished draining by then is killed.
const STOP_GRACE_MS = 10_000;

/** @type {{ name: string, child: import('node:child_process').ChildProcess, exited: Promise<number | string | null> }[]} */
const children = [];
let stopping = false;
/** @type {null | { env: NodeJS.ProcessEnv, web: { count: number, reason: string }, publicUrl: string, port: number, adminEmail: string, runtimeFile: string, postgres: null | { pid: number, pidFile: string } }} */
let prepared = null;
let setupRun = null;
let peersDir = null;

function track(name, child) {
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const entry = { name, child, exited };
  children.push(entry);
  void exited.then((code) => {
    if (stopping) return;
    console.error(`${name}: exited unexpectedly (code ${code}); stopping Gatehouse`);
    void shutdown(1);
  });
  return entry;
}

/** SIGTERM (the child drains), then SIGKILL if it has not exited after STOP_GRACE_MS. */
async function stopChild({ child, exited }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Whether `pid` still runs: an exited process not yet reaped (state Z) has stopped. */
function running(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(pid, 0) has answered
  }
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function waitUntilStopped(pid, ms) {
  const deadline = Date.now() + ms;
  while (running(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return !running(pid);
}

/**
 * The embedded cluster the setup handed over, which is not our child (it outlived the setup, in
 * a session of its own): a fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL. Only
 * while its lock file still names it, so a pid reused by another process is never signalled.
 */
async function stopPostgres({ pid, pidFile }) {
  let named;
  try {
    named = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return; // no lock file: the cluster has already shut down
  }
  if (named !== pid) return;
  signal(pid, 'SIGINT');
  if (await waitUntilStopped(pid, 15_000)) return;
  signal(pid, 'SIGQUIT');
  if (await waitUntilStopped(pid, 5_000)) return;
  signal(pid, 'SIGKILL');
  await waitUntilStopped(pid, 5_000);
}

async function shutdown(exitCode) {
  if (stopping) return;
  stopping = true;
  // During setup, the setup stops what it started (a terminal's Ctrl-C reached it too).
  if (setupRun) {
    setupRun.child.kill('SIGTERM');
    await setupRun.closed;
  }
  if (prepared) {
    say('gatehouse', 'stopping');
    // A child started while the first ones were being stopped (the start was under way) is stopped
    // too: the loop ends only once every child known has exited.
    for (let stopped = 0; stopped < children.length; ) {
      const batch = children.slice(stopped);
      stopped = children.length;
      await Promise.all(batch.map(stopChild));
    }
    if (prepared.postgres) {
      await stopPostgres(prepared.postgres);
      say('database', 'embedded PostgreSQL stopped');
    }
    rmSync(prepared.runtimeFile, { force: true });
  }
  if (peersDir) rmSync(peersDir, { recursive: true, force: true });
  process.exit(exitCode);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// The terminal was closed: stop as for Ctrl-C. Writing to it fails from then on (EIO), which
// must not kill us before the children have drained and PostgreSQL has stopped.
process.on('SIGHUP', () => {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  void shutdown(0);
});

/** Runs the setup; resolves with its exit code once it has exited and its messages are read. */
function runSetup() {
  const child = spawn(process.execPath, [...nodeArgs, programFile('setup'), ...passedOn], {
    cwd: root,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: withTsx(process.env),
  });
  child.on('message', (message) => {
    if (message?.type === 'prepared') prepared = message;
  });
  // 'close' comes after the IPC channel has closed, so the hand-over message has been read.
  const closed = new Promise((resolve) => child.once('close', (code, signalName) => resolve(code ?? (signalName ? 1 : 0))));
  return { child, closed };
}

/** True once GET /healthz answers 200, false when `timeoutMs` passes or we are stopping. */
async function healthy(port, timeoutMs) {
  const probe = () =>
    new Promise((resolve) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2_000 }, (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      });
      request.on('timeout', () => request.destroy());
      request.on('error', () => resolve(false));
    });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/**
 * The web processes: cluster workers, so they share one listening socket (the primary accepts
 * and hands connections round-robin). With more than one, each also listens on a Unix socket of
 * its own in a private directory, where the others forward MCP requests of the sessions it owns
 * (lib/http/peers.ts). Resolves once each has said it listens (or one exited first).
 */
async function startWebProcesses(env, count) {
  if (count > 1) peersDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-web-'));
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ exec: programFile('web'), execArgv: [...nodeArgs, ...v8Flags('web')], args: passedOn });
  const listening = [];
  for (let index = 1; index <= count; index++) {
    const peer = peersDir ? { GATEHOUSE_WEB_INDEX: String(index), GATEHOUSE_WEB_PEERS_DIR: peersDir } : {};
    const worker = cluster.fork(withTsx({ ...env, ...peer }));
    const { exited } = track(count > 1 ? `web ${index}` : 'web', worker.process);
    listening.push(
      new Promise((resolve) => {
        worker.on('message', (message) => {
          if (message?.type === 'listening') resolve(true);
        });
        void exited.then(() => resolve(false));
      }),
    );
  }
  return (await Promise.all(listening)).every(Boolean);
}

setupRun = runSetup();
const setupCode = await setupRun.closed;
setupRun = null;
if (!stopping && !prepared) process.exit(setupCode || 1);
if (!stopping) {
  // cluster.fork() adds our environment to the one given: drop what the setup kept from the
  // children (the migration role's URL), so it does not come back that way.
  for (const name of Object.keys(process.env)) if (!(name in prepared.env)) delete process.env[name];
  const { env, web } = prepared;
  const listening = await startWebProcesses(env, web.count);
  // A stop that began while the webs started (Ctrl-C, a web that exited) starts no worker.
  // The worker's IPC channel closes when we die, however (even SIGKILL): it drains and exits then.
  if (!stopping) track('worker', spawn(process.execPath, [...nodeArgs, ...v8Flags('worker'), programFile('worker')], { cwd: root, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: withTsx(env) }));
  // Only once our web processes say they listen does the probe mean anything (another program
  // could answer on the port); if one exits instead, the stop has begun.
  if (listening && (await healthy(prepared.port, 120_000))) {
    const processes = `${web.count} web process${web.count === 1 ? '' : 'es'}: ${web.reason}`;
    say('gatehouse', `ready at ${prepared.publicUrl} — sign in as ${prepared.adminEmail} (${processes})`);
  } else if (!stopping) {
    console.error('web: did not answer /healthz within 120 s');
    await shutdown(1);
  }
}
