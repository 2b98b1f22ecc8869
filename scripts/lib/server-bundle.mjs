// The production processes of `npm start` compiled ahead of time: its one-shot setup
// (scripts/setup.ts), the web server (scripts/web.ts) and the worker (workers/main.ts) as ES
// modules in dist/server/, so none of them transpiles TypeScript under tsx at run time (a loader
// thread and an esbuild service per process). Packages stay in node_modules (imported, not
// bundled); shared code and dynamic imports become chunks, so what a process imports late (web.ts
// loads Next only after setting NODE_ENV) is still loaded late.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT_DIR = path.join(root, 'dist', 'server');
const STAMP = path.join(OUT_DIR, '.built');

/** Entry point name → source; `dist/server/<name>.mjs` runs it. */
export const SERVER_ENTRIES = { setup: 'scripts/setup.ts', web: 'scripts/web.ts', worker: 'workers/main.ts' };
const SOURCES = ['scripts/setup.ts', 'scripts/web.ts', 'workers', 'lib', 'tsconfig.json', 'package-lock.json'];

export function serverEntry(name) {
  return path.join(OUT_DIR, `${name}.mjs`);
}

function newestChange(relative) {
  const full = path.join(root, relative);
  const stat = statSync(full, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(full)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestChange(path.join(relative, entry)));
  }
  return newest;
}

export function serversAreStale() {
  const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return built < Math.max(...SOURCES.map(newestChange));
}

/** Builds dist/server/ (into a temporary directory, then swapped in whole). */
export async function buildServers() {
  const { build, stop } = await import('esbuild');
  const temporary = `${OUT_DIR}.${process.pid}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  try {
    await build({
      absWorkingDir: root,
      entryPoints: SERVER_ENTRIES,
      outdir: temporary,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      tsconfig: path.join(root, 'tsconfig.json'),
      logLevel: 'error',
    });
    writeFileSync(path.join(temporary, '.built'), `${new Date().toISOString()}\n`);
    mkdirSync(path.dirname(OUT_DIR), { recursive: true });
    rmSync(OUT_DIR, { recursive: true, force: true });
    renameSync(temporary, OUT_DIR);
  } finally {
    rmSync(temporary, { recursive: true, force: true });
    // The esbuild service is a process of its own: not kept alive beside the supervisor.
    stop();
  }
}
