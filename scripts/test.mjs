#!/usr/bin/env node
// `npm test`: unit and integration tests (Vitest, real PostgreSQL and Redis), then the browser
// end-to-end tests (Vitest + playwright-core driving Debian's Chromium against the built app).
// Ends with one line `tests: N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildClientsIfStale, generatePrismaClient, installDependencies, root, startBuildIfStale } from './lib/prepare.mjs';

const log = (line) => console.log(`test: ${line}`);

/**
 * CPU seconds of this process and of the children it has waited for (Linux's /proc; 0 elsewhere).
 * On a shared machine wall time mostly says how busy the others were; CPU time says what a phase
 * itself cost, so both are printed, with the load average.
 */
function cpuSeconds() {
  try {
    // Fields after the command name: utime, stime, cutime, cstime are the 12th to 15th.
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    const ticks = fields.slice(11, 15).reduce((sum, value) => sum + Number(value), 0);
    return ticks / 100;
  } catch {
    return 0;
  }
}

const phases = [];
/** Runs one step of the suite and notes its wall and CPU time for the closing summary. */
async function phase(name, step) {
  const started = { wall: performance.now(), cpu: cpuSeconds() };
  const result = await step();
  phases.push({ name, wall: (performance.now() - started.wall) / 1000, cpu: cpuSeconds() - started.cpu });
  return result;
}

function printPhases() {
  const load = os.loadavg().map((value) => value.toFixed(2)).join(' ');
  const rows = phases.filter(({ wall, cpu }) => wall >= 0.5 || cpu >= 0.5).map(({ name, wall, cpu }) => `${name} ${wall.toFixed(0)} s (CPU ${cpu.toFixed(0)} s)`);
  log(`time: ${rows.join(', ')}; load average ${load}`);
}
const CHROMIUM = '/usr/bin/chromium';

function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    console.error(`test: ${CHROMIUM} is missing; install Debian's chromium package (apt-get install -y chromium)`);
    process.exit(1);
  }
  log('installing Debian chromium for the browser tests');
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) process.exit(result.status || 1);
  }
}

function runVitest(label, extraArgs) {
  const report = path.join(root, '.test-data', `${label}.json`);
  mkdirSync(path.dirname(report), { recursive: true });
  log(`${label} tests`);
  const result = spawnSync(
    process.execPath,
    ['node_modules/vitest/vitest.mjs', 'run', ...extraArgs, '--reporter=default', '--reporter=json', `--outputFile=${report}`],
    { cwd: root, stdio: 'inherit', env: process.env },
  );
  let passed = 0;
  let failed = 0;
  try {
    const summary = JSON.parse(readFileSync(report, 'utf8'));
    passed = summary.numPassedTests;
    failed = summary.numFailedTests;
    // A file that failed to load has no failing test to count, but the run still failed.
    if (!summary.success && failed === 0) failed = 1;
  } catch {
    failed = 1;
  }
  if (result.status !== 0 && failed === 0) failed = 1;
  return { passed, failed };
}

await phase('npm ci', () => installDependencies(log));
await phase('prisma generate', () => generatePrismaClient(log));
// The unit tests do not need the built app: next build runs beside them, on what they leave of
// two cores (they wait on PostgreSQL, Redis and child processes much of the time). Its phase's
// wall time is what it took beyond them; its CPU time, all of it (counted when it is collected).
const build = startBuildIfStale(log);
const unit = await phase('unit', () => runVitest('unit', []));
await phase('next build', () => build);
await phase('clients', () => buildClientsIfStale(log));
await phase('chromium', () => ensureChromium());
const e2e = await phase('e2e', () => runVitest('e2e', ['-c', 'e2e/vitest.config.ts']));
printPhases();

const passed = unit.passed + e2e.passed;
const failed = unit.failed + e2e.failed;
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
