// Steps shared by `npm start` and `npm test` on a fresh clone. Plain Node with no dependencies:
// this runs before node_modules exists.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function run(command, args, label) {
  // A self-hosted governance plane reports nothing to anyone, Next's build telemetry included.
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { NEXT_TELEMETRY_DISABLED: '1', ...process.env } });
  if (result.status !== 0) {
    console.error(`gatehouse: ${label} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}

function mtime(file) {
  try {
    return statSync(path.join(root, file)).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The newest modification time of any file below `dirs`, skipping generated folders and test
 * files (`*.test.ts`), which the built app never contains: editing a test is no reason to run
 * `next build` again (its type check of them is what `npx tsc --noEmit` does).
 */
function newestSource(entries) {
  let newest = 0;
  const walk = (relative) => {
    const absolute = path.join(root, relative);
    if (!existsSync(absolute)) return;
    const stat = statSync(absolute);
    if (stat.isFile()) {
      if (!relative.endsWith('.test.ts')) newest = Math.max(newest, stat.mtimeMs);
      return;
    }
    for (const entry of readdirSync(absolute)) {
      if (entry === 'node_modules' || entry === 'generated' || entry.startsWith('.')) continue;
      walk(path.join(relative, entry));
    }
  };
  entries.forEach(walk);
  return newest;
}

export function installDependencies(log) {
  const installed = mtime('node_modules/.package-lock.json');
  if (installed && installed >= mtime('package-lock.json') && installed >= mtime('package.json')) return;
  log('dependencies: installing (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund'], 'npm ci');
}

export function generatePrismaClient(log) {
  if (mtime('lib/generated/prisma/client.ts') >= mtime('prisma/schema.prisma')) return;
  log('prisma: generating the client');
  run(process.execPath, ['scripts/prisma-generate.mjs'], 'prisma generate');
}

const APP_SOURCES = ['app', 'components', 'lib', 'public', 'next.config.mjs', 'postcss.config.mjs', 'tsconfig.json', 'package-lock.json'];

const NEXT_BUILD = [process.execPath, ['node_modules/next/dist/bin/next', 'build']];

/** Says why the app needs building (and returns true), or returns false when .next is current. */
function announceBuild(log) {
  const built = mtime('.next/BUILD_ID');
  if (built && built >= newestSource(APP_SOURCES)) return false;
  log(built ? 'web: sources changed, rebuilding (next build)' : 'web: first run, building (next build)');
  return true;
}

export function buildIfStale(log) {
  if (announceBuild(log)) run(...NEXT_BUILD, 'next build');
}

/**
 * `next build` in the background, its output kept in `.test-data/next-build.log` (printed only if
 * it fails), so that other work can run beside it; the returned promise settles when it is done.
 * A failed build ends this process, as buildIfStale's does.
 */
export function startBuildIfStale(log) {
  if (!announceBuild(log)) return Promise.resolve();
  const logFile = path.join(root, '.test-data', 'next-build.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  const output = openSync(logFile, 'w');
  const child = spawn(...NEXT_BUILD, { cwd: root, stdio: ['ignore', output, output], env: { NEXT_TELEMETRY_DISABLED: '1', ...process.env } });
  closeSync(output);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve();
      process.stdout.write(readFileSync(logFile, 'utf8'));
      console.error(`gatehouse: next build failed (exit ${code ?? signal})`);
      process.exit(code || 1);
    });
  });
}

/** The one-file programs for employees' machines (dist/), offered on the Rollout page. */
export async function buildClientsIfStale(log) {
  const { CLIENTS, isStale, buildClient } = await import('./bundle.mjs');
  const stale = Object.keys(CLIENTS).filter(isStale);
  for (const name of stale) {
    log(`clients: building dist/${name}.cjs`);
    await buildClient(name);
  }
  // The esbuild service is a process of its own: not kept alive beside the supervisor.
  if (stale.length) (await import('esbuild')).stop();
}

/** `npm start`'s own processes compiled ahead of time (dist/server/, see server-bundle.mjs). */
export async function buildServersIfStale(log) {
  const { serversAreStale, buildServers } = await import('./server-bundle.mjs');
  if (!serversAreStale()) return;
  log('server: compiling the setup, web server and worker (dist/server/)');
  await buildServers();
}
