#!/usr/bin/env node
// `npm test`: unit and integration tests (Vitest, real PostgreSQL and Redis), then the browser
// end-to-end tests (Vitest + playwright-core driving Debian's Chromium against the built app).
// Ends with one line `tests: N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildClientsIfStale, buildIfStale, generatePrismaClient, installDependencies, root } from './lib/prepare.mjs';

const log = (line) => console.log(`test: ${line}`);
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

installDependencies(log);
generatePrismaClient(log);
const unit = runVitest('unit', []);
buildIfStale(log);
await buildClientsIfStale(log);
ensureChromium();
const e2e = runVitest('e2e', ['-c', 'e2e/vitest.config.ts']);

const passed = unit.passed + e2e.passed;
const failed = unit.failed + e2e.failed;
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
