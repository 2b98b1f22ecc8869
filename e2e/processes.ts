// Processes the operator-level e2e tests start as a shell would (npm start's supervisor, the
// demo upstream, the CLI): their output kept line by line, each in a process group of its own so
// that cleanup after a failure reaches everything they started.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const ROOT = process.cwd();
export const START_DEADLINE_MS = 180_000;

/**
 * What an operator's shell has: none of the test run's database, Redis or Gatehouse settings,
 * then `settings`.
 */
export function shellEnvironment(settings: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !/^(GATEHOUSE_|NEXTAUTH_|VITEST|DATABASE_URL$|REDIS_URL$|PORT$|HOST$|NODE_ENV$)/.test(name));
  return { ...(Object.fromEntries(inherited) as NodeJS.ProcessEnv), ...settings };
}

export interface Running {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line matching, or rejects when the process exits first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/** `node <args>` from the repository root; `--import tsx` unless the entry point is plain JS. */
export function run(args: string[], env: NodeJS.ProcessEnv, options: { tsx?: boolean } = {}): Running {
  const nodeArgs = options.tsx === false ? args : ['--import', 'tsx', ...args];
  const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let open = 2;
  let markDrained: () => void;
  const drained = new Promise<void>((resolve) => (markDrained = resolve));
  for (const stream of [child.stdout!, child.stderr!]) {
    const reader = createInterface({ input: stream });
    reader.on('line', (line) => {
      lines.push(line);
      for (const wake of waiters) wake();
    });
    reader.on('close', () => {
      if (--open === 0) markDrained();
    });
  }
  // Resolved once the process has exited and every line it wrote has been read.
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => void drained.then(() => resolve(code))));
  void exited.then(() => {
    for (const wake of waiters) wake();
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  return {
    child,
    lines,
    exited,
    waitFor(pattern, timeoutMs = START_DEADLINE_MS) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`))), timeoutMs);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        const check = () => {
          const found = lines.find((line) => pattern.test(line));
          if (found !== undefined) finish(() => resolve(found));
          else if (hasExited) finish(() => reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before a line matching ${pattern}:\n${lines.join('\n')}`)));
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/**
 * Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group (`group`), or to
 * the process alone; SIGKILL to the group if it has not stopped in time. Resolves with the exit code.
 */
export async function stop(running: Running | undefined, options: { group?: boolean } = {}): Promise<number | null> {
  if (!running) return null;
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return running.exited;
  if (options.group) process.kill(-child.pid!, 'SIGINT');
  else child.kill('SIGINT');
  const timer = setTimeout(() => killGroup(child.pid!), 45_000);
  const code = await running.exited;
  clearTimeout(timer);
  return code;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** The processes left in process group `pgid` ("pid stat command" each; zombies included). */
export function processGroupMembers(pgid: number): string[] {
  if (!signalZero(-pgid)) return [];
  const table = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  return table
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => Number(fields[1]) === pgid)
    .map(([pid, , stat, ...command]) => `${pid} ${stat} ${command.join(' ')}`);
}

/**
 * Whether `pid` still runs. One that has exited but awaits its reaping (state Z) has not: the
 * embedded PostgreSQL runs in a session of its own, and once its starter has exited it is init's
 * to reap, a moment after it stops.
 */
export function processAlive(pid: number): boolean {
  if (!signalZero(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `gatehouse <args>` through the plain-JS launcher, as the bin link runs it. */
export function gatehouseCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/gatehouse.mjs', ...args], { cwd: ROOT, env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
