import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HelperError } from './errors';

/** What the helper remembers besides the refresh token (which lives in the secret store). */
export interface HelperState {
  /** The Gatehouse origin signed in to, e.g. https://gatehouse.example.com. */
  server: string;
  email?: string;
  /** The cached access token and when it expires (epoch seconds). */
  accessToken?: string;
  expiresAt?: number;
  /** The policy version the gateway last announced (sent back as x-policy-version). */
  policyVersion?: string;
}

function stateFile(home: string): string {
  return path.join(home, 'state.json');
}

export function readState(home: string): HelperState | null {
  try {
    const parsed = JSON.parse(readFileSync(stateFile(home), 'utf8')) as Partial<HelperState>;
    return typeof parsed.server === 'string' ? (parsed as HelperState) : null;
  } catch {
    return null;
  }
}

/** Written whole and renamed into place, mode 0600: it holds a live access token. */
export function writeState(home: string, state: HelperState): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const temporary = `${stateFile(home)}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, stateFile(home));
}

export function clearState(home: string): void {
  rmSync(stateFile(home), { force: true });
}

const LOCK_STALE_MS = 60_000;
/** How long a command waits for another helper's lock by default (a hook waits less: see session.ts). */
const LOCK_WAIT_MS = 30_000;

/**
 * Runs `work` holding an exclusive lock file. Clients start several helpers at once; refresh
 * tokens rotate, so two concurrent refreshes with one token would look like theft and end the
 * sign-in. A lock older than a minute belongs to a dead process and is taken over.
 */
export async function withStateLock<T>(home: string, work: () => Promise<T>, waitMs = LOCK_WAIT_MS): Promise<T> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const lock = path.join(home, 'state.lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        // removed by its owner meanwhile
      }
      if (Date.now() > deadline) throw new HelperError(`another gatehouse-helper has held ${lock} for too long`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}
