// One-file builds of the programs that run on employees' machines (they need only Node there).
// `npm run build:clients` makes them; the bin launchers rebuild a stale one on first use.
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The client programs: entry file and the source folders whose changes make the bundle stale. */
export const CLIENTS = {
  'gatehouse-helper': { entry: 'cli/gatehouse-helper.ts', sources: ['lib/credential-helper', 'lib/governance-hooks/paths.ts', 'lib/governance-hooks/answer.ts', 'lib/http/capped-body.ts', 'lib/platform/json.ts'] },
  'gatehouse-sync': {
    entry: 'cli/gatehouse-sync.ts',
    sources: ['lib/plugins/agent', 'lib/plugins/zip.ts', 'lib/plugins/paths.ts', 'lib/plugins/digest.ts', 'lib/plugins/limits.ts', 'lib/signing/jws.ts', 'lib/mcp/allowlist/documents.ts', 'lib/mcp/allowlist/verify.ts', 'lib/mcp/allowlist/clients.ts'],
  },
};

export function bundlePath(name) {
  return path.join(root, 'dist', `${name}.cjs`);
}

function newestChange(paths) {
  let newest = 0;
  for (const relative of paths) {
    const full = path.join(root, relative);
    const stat = statSync(full);
    if (stat.isDirectory()) newest = Math.max(newest, newestChange(readdirSync(full).map((entry) => path.join(relative, entry))));
    else newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

export function isStale(name) {
  const client = CLIENTS[name];
  try {
    return statSync(bundlePath(name)).mtimeMs < newestChange([client.entry, ...client.sources]);
  } catch {
    return true;
  }
}

/**
 * Builds dist/NAME.cjs (Node ≥ 20, no dependencies outside Node itself). CommonJS, because
 * laptops install it under a name without an extension, which Node runs as CommonJS.
 */
export async function buildClient(name) {
  const client = CLIENTS[name];
  if (!client) throw new Error(`no client program named ${name}`);
  const { build } = await import('esbuild');
  const outfile = bundlePath(name);
  mkdirSync(path.dirname(outfile), { recursive: true });
  // Written beside and renamed: two first runs at once must not execute a half-written file.
  const temporary = `${outfile}.${process.pid}.tmp.cjs`;
  await build({
    absWorkingDir: root,
    entryPoints: [client.entry],
    outfile: temporary,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    tsconfig: path.join(root, 'tsconfig.json'),
    banner: { js: `#!/usr/bin/env node\n// ${name}: built from the Gatehouse repository by scripts/lib/bundle.mjs` },
    logLevel: 'error',
  });
  renameSync(temporary, outfile);
  return outfile;
}

export async function ensureClient(name) {
  return isStale(name) ? buildClient(name) : bundlePath(name);
}
