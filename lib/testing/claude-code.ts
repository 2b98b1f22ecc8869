// The real Claude Code CLI for tests that must run it (npm @anthropic-ai/claude-code, a native
// binary that works offline). It is not a dependency of the project: it declares Node ≥ 22 and
// weighs ~400 MB, so it is installed once per checkout under .test-data/ from the npm registry
// when a test first asks for it. Without the registry the tests that need it skip with the reason.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** The version the tests were written against (its behaviour is recorded in shared/contracts). */
export const CLAUDE_CODE_VERSION = '2.1.332';

const root = path.resolve(__dirname, '..', '..');
const prefix = path.join(root, '.test-data', `claude-code-${CLAUDE_CODE_VERSION}`);
const binary = path.join(prefix, 'node_modules', '.bin', process.platform === 'win32' ? 'claude.cmd' : 'claude');

export type ClaudeCodeLookup = { path: string } | { skip: string };

let cached: ClaudeCodeLookup | undefined;

function works(candidate: string): boolean {
  const result = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HOME: path.join(prefix, 'home') } });
  return result.status === 0 && /Claude Code/.test(result.stdout);
}

/**
 * The `claude` binary: CLAUDE_CODE_BIN when set, else the pinned version under .test-data
 * (installed now if missing), else a reason to skip.
 */
export function findClaudeCode(): ClaudeCodeLookup {
  if (cached) return cached;
  const explicit = process.env.CLAUDE_CODE_BIN;
  if (explicit) return (cached = works(explicit) ? { path: explicit } : { skip: `CLAUDE_CODE_BIN=${explicit} does not run` });
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true });
    const install = spawnSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (install.status !== 0) return (cached = { skip: `could not install @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}: ${(install.stderr || install.error?.message || '').trim().split('\n').pop()}` });
  }
  return (cached = works(binary) ? { path: binary } : { skip: `the installed claude binary at ${binary} does not run` });
}
