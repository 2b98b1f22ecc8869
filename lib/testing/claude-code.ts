// The real Claude Code CLI for tests that must run it (npm @anthropic-ai/claude-code, a native
// binary that works offline). It is not a dependency of the project: it declares Node ≥ 22 and
// weighs ~400 MB, so it is installed once per checkout under .test-data/ from the npm registry
// when a test first asks for it. Without the registry the tests that need it skip with the reason.
// Every test runs it through runClaudeCode here: one environment, one way to give it managed files.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

export interface ClaudeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ClaudeRunOptions {
  /** HOME for the run, and its working directory unless `cwd` says otherwise: one per run keeps runs apart. */
  home: string;
  cwd?: string;
  /** Added to the base environment; `undefined` takes a base variable out. */
  env?: Record<string, string | undefined>;
  /**
   * Files this run alone finds in /etc/claude-code (managed-settings.json, managed-mcp.json:
   * 2.1.332 reads them nowhere else on Linux), in a private mount namespace whose /etc is an
   * overlay: the machine's /etc is untouched. Needs root; see managedFilesSupport().
   */
  managedFiles?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * What every run starts from: nothing of the test process's environment (no token or API key of
 * the machine leaks in), no auto-update and no traffic but the test's own.
 */
function baseEnvironment(home: string): NodeJS.ProcessEnv {
  return { NODE_ENV: 'production', PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' };
}

/** The command that runs `argv` with `root/upper` laid over /etc (root/upper/claude-code holds the files). */
function overlayEtc(root: string, argv: string[]): string[] {
  const script = 'mount --make-rprivate / && mount -t overlay overlay -o lowerdir=/etc,upperdir="$1/upper",workdir="$1/work" /etc && shift && exec "$@"';
  return ['unshare', '-m', 'sh', '-c', script, 'sh', root, ...argv];
}

function stageManagedFiles(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'gatehouse-claude-etc-'));
  mkdirSync(path.join(root, 'upper', 'claude-code'), { recursive: true });
  mkdirSync(path.join(root, 'work'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(root, 'upper', 'claude-code', name), content);
  return root;
}

let managedSupport: { ok: true } | { skip: string } | undefined;

/** Whether runs can be given their own /etc/claude-code here (root, unshare and overlayfs), else why not. */
export function managedFilesSupport(): { ok: true } | { skip: string } {
  if (managedSupport) return managedSupport;
  if (process.getuid?.() !== 0) return (managedSupport = { skip: 'placing files in /etc/claude-code for one run needs root (a private mount namespace)' });
  const root = stageManagedFiles({ 'probe.json': '{}' });
  try {
    const [command, ...args] = overlayEtc(root, ['test', '-f', '/etc/claude-code/probe.json']);
    const probe = spawnSync(command!, args, { encoding: 'utf8', timeout: 30_000 });
    managedSupport = probe.status === 0 ? { ok: true } : { skip: `cannot give a run a private /etc/claude-code here: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n').pop()}` };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return managedSupport;
}

/**
 * Runs the real `claude` with `args` (findClaudeCode's; call it only when that found one) and
 * collects its output. Asynchronous: the Gatehouse it talks to usually runs in the test process.
 */
export function runClaudeCode(args: string[], options: ClaudeRunOptions): Promise<ClaudeRun> {
  const claude = findClaudeCode();
  if ('skip' in claude) return Promise.reject(new Error(`no Claude Code CLI to run: ${claude.skip}`));
  const env = baseEnvironment(options.home);
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const etc = options.managedFiles ? stageManagedFiles(options.managedFiles) : null;
  const [command, ...argv] = etc ? overlayEtc(etc, [claude.path, ...args]) : [claude.path, ...args];
  return new Promise<ClaudeRun>((resolve, reject) => {
    const child = spawn(command!, argv, { cwd: options.cwd ?? options.home, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 240_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  }).finally(() => {
    if (etc) rmSync(etc, { recursive: true, force: true });
  });
}
