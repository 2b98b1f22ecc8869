import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { asSuperuser, superuserClient } from '@/lib/audit/testing/fixtures';
import { closeDatabase, db } from '@/lib/db/client';
import { listenerApplicationName } from '@/lib/db/listen';
import { configureTestEnvironment, createTestUser, servePublicly } from '@/lib/oauth/test-harness';
import type { UserIdentity } from '@/lib/oauth/identity';
import { AccessTokenError } from './errors';
import { invalidateRevocationCache, revocationChangesReady, revocationView, revocationViewStats, setRevocationCacheTtl, setRevocationFullReadInterval } from './revocation';
import { readRevocationChanges, REVOCATION_CHANNEL } from './revocation-repository';
import { signAccessToken } from './sign';
import { verifyAccessToken } from './verify';

const ISSUER = 'http://gatehouse.test';
const AUDIENCE = `${ISSUER}/v1`;

// Another connection: what another web process, the worker or another machine would write with.
let other: pg.Client;

async function sessionOf(identity: UserIdentity): Promise<string> {
  const session = await db().oAuthSession.create({
    data: { tenantId: identity.tenantId, userId: identity.userId, grantType: 'cli', scope: '', audience: AUDIENCE, authTime: new Date(), expiresAt: new Date(Date.now() + 3600_000) },
  });
  return session.id;
}

async function setStatus(userId: string, status: 'active' | 'disabled'): Promise<void> {
  await other.query('UPDATE users SET status = $2 WHERE id = $1', [userId, status]);
}

async function listenerPid(): Promise<number | undefined> {
  const { rows } = await other.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [listenerApplicationName(REVOCATION_CHANNEL)]);
  return rows[0]?.pid;
}

const disabled = async (userId: string) => (await revocationView()).disabledUsers.has(userId);

beforeAll(async () => {
  configureTestEnvironment();
  servePublicly(ISSUER);
  other = await superuserClient();
});

afterAll(async () => {
  await other.end();
  await closeAuditWriter();
  await closeDatabase();
});

describe('revocation view', () => {
  it('applies a revocation made on another connection when notified, without reading everything again', async () => {
    const user = await createTestUser();
    const sessionId = await sessionOf(user);
    // Listening, the view just read, and no background read scheduled (a zero bound has none and
    // raising it does not start one): within the next five seconds only a notification can bring
    // the change in. The view is watched without calling revocationView, which would read.
    setRevocationCacheTtl(0);
    await revocationChangesReady();
    setRevocationCacheTtl(5_000);
    const view = await revocationView();
    const before = revocationViewStats();
    expect(view.revokedSessions.has(sessionId)).toBe(false);

    await other.query(`UPDATE oauth_sessions SET revoked_at = now(), revoked_reason = 'admin_revoked' WHERE id = $1`, [sessionId]);
    await vi.waitFor(() => expect(view.revokedSessions.has(sessionId)).toBe(true), { timeout: 4_000, interval: 20 });
    const after = revocationViewStats();
    expect(after.fullReads).toBe(before.fullReads);
    expect(after.changeReads).toBeGreaterThan(before.changeReads);
    expect(after.notifications).toBeGreaterThan(before.notifications);
  });

  it('drops a user that is enabled again, and a sign-in whose revocation is undone', async () => {
    setRevocationCacheTtl(5_000);
    await revocationChangesReady();
    const user = await createTestUser();
    const sessionId = await sessionOf(user);
    const before = revocationViewStats();
    await setStatus(user.userId, 'disabled');
    await other.query('UPDATE oauth_sessions SET revoked_at = now() WHERE id = $1', [sessionId]);
    await vi.waitFor(async () => expect(await disabled(user.userId)).toBe(true), { timeout: 10_000, interval: 20 });
    await vi.waitFor(async () => expect((await revocationView()).revokedSessions.has(sessionId)).toBe(true), { timeout: 10_000, interval: 20 });

    await setStatus(user.userId, 'active');
    await other.query('UPDATE oauth_sessions SET revoked_at = NULL WHERE id = $1', [sessionId]);
    await vi.waitFor(async () => expect(await disabled(user.userId)).toBe(false), { timeout: 10_000, interval: 20 });
    await vi.waitFor(async () => expect((await revocationView()).revokedSessions.has(sessionId)).toBe(false), { timeout: 10_000, interval: 20 });
    expect(revocationViewStats().fullReads).toBe(before.fullReads);
  });

  it('catches up in the background on a change whose notification never came', async () => {
    // A short bound: the background read runs every 200 ms. Invalidating makes the next check
    // read and (re)start the background reads.
    setRevocationCacheTtl(400);
    invalidateRevocationCache();
    await revocationChangesReady();
    const user = await createTestUser();
    // Watched without calling revocationView (which would read): only the background read can
    // bring the change in.
    const view = await revocationView();
    const before = revocationViewStats();
    // The triggers off (so no NOTIFY is sent), the change noted by hand: exactly what a process
    // whose listening connection was down when the change committed has to recover from.
    await other.query('BEGIN');
    await asSuperuser(other, `UPDATE users SET status = 'disabled' WHERE id = $1`, [user.userId]);
    await other.query(`INSERT INTO revocation_changes (subject, subject_id) VALUES ('user', $1)`, [user.userId]);
    await other.query('COMMIT');
    await vi.waitFor(() => expect(view.disabledUsers.has(user.userId)).toBe(true), { timeout: 10_000, interval: 20 });
    expect(revocationViewStats().fullReads).toBe(before.fullReads);
  });

  it('reads everything again when its saved position is ahead of the database (a restore)', async () => {
    setRevocationCacheTtl(5_000);
    await revocationChangesReady();
    await revocationView();
    const user = await createTestUser();
    const saved = globalThis as typeof globalThis & { __gatehouseRevocation?: { cursor?: string } };
    const { rows } = await other.query<{ xmax: string; snapshot: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax, pg_current_snapshot()::text AS snapshot');
    const aheadXid = (BigInt(rows[0]!.xmax) + 1_000_000n).toString();
    const ahead = `${aheadXid}:${aheadXid}:`;
    expect((await readRevocationChanges(ahead)).cursorAhead).toBe(true);
    expect((await readRevocationChanges(rows[0]!.snapshot)).cursorAhead).toBe(false);

    // The change is noted under a transaction id below the saved position: a changes read alone
    // would never ask for it.
    saved.__gatehouseRevocation!.cursor = ahead;
    const before = revocationViewStats();
    await setStatus(user.userId, 'disabled');
    invalidateRevocationCache();
    expect(await disabled(user.userId)).toBe(true);
    expect(revocationViewStats().fullReads).toBeGreaterThan(before.fullReads);
    expect(BigInt(saved.__gatehouseRevocation!.cursor!.split(':')[1]!)).toBeLessThanOrEqual(BigInt(rows[0]!.xmax) + 1_000n);
  });

  it('reads everything again on its backstop interval, catching a change no trigger noted', async () => {
    setRevocationFullReadInterval(300);
    try {
      setRevocationCacheTtl(400);
      invalidateRevocationCache();
      await revocationChangesReady();
      const user = await createTestUser();
      const before = revocationViewStats();
      // Triggers off and nothing noted by hand: only a full read can see it.
      await asSuperuser(other, `UPDATE users SET status = 'disabled' WHERE id = $1`, [user.userId]);
      await vi.waitFor(async () => expect(await disabled(user.userId)).toBe(true), { timeout: 10_000, interval: 50 });
      expect(revocationViewStats().fullReads).toBeGreaterThan(before.fullReads);
    } finally {
      setRevocationFullReadInterval(10 * 60_000);
    }
  });

  it('notes users and sign-ins inserted disabled or revoked, and keeps counting deleted ones', async () => {
    setRevocationCacheTtl(5_000);
    await revocationChangesReady();
    const owner = await createTestUser();
    const noted = async (subjectId: string) =>
      (await other.query<{ count: string }>('SELECT count(*) FROM revocation_changes WHERE subject_id = $1', [subjectId])).rows[0]!.count;

    // INSERT triggers.
    const inserted = await db().user.create({ data: { tenantId: owner.tenantId, email: `revoked-${owner.userId}@example.com`, name: 'Inserted disabled', status: 'disabled' } });
    const revoked = await db().oAuthSession.create({
      data: { tenantId: owner.tenantId, userId: owner.userId, grantType: 'cli', scope: '', audience: AUDIENCE, authTime: new Date(), expiresAt: new Date(Date.now() + 3600_000), revokedAt: new Date() },
    });
    expect(await noted(inserted.id)).toBe('1');
    expect(await noted(revoked.id)).toBe('1');
    await vi.waitFor(async () => expect((await revocationView()).disabledUsers.has(inserted.id)).toBe(true), { timeout: 10_000, interval: 20 });
    await vi.waitFor(async () => expect((await revocationView()).revokedSessions.has(revoked.id)).toBe(true), { timeout: 10_000, interval: 20 });
    // An active user or a live sign-in inserted is not noted.
    const live = await sessionOf(owner);
    expect(await noted(live)).toBe('0');

    // DELETE triggers: a deleted disabled user or revoked sign-in keeps counting (a token naming
    // it may still be live), and is noted again.
    const before = revocationViewStats();
    const { rows } = await other.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
    await other.query('DELETE FROM oauth_sessions WHERE id = $1', [revoked.id]);
    await other.query('DELETE FROM users WHERE id = $1', [inserted.id]);
    expect(await noted(inserted.id)).toBe('2');
    expect(await noted(revoked.id)).toBe('2');
    const changes = await readRevocationChanges(rows[0]!.snapshot);
    expect(changes.users).toContainEqual([inserted.id, true]);
    expect(changes.sessions.find(([id]) => id === revoked.id)?.[1]).toBeTypeOf('number');
    invalidateRevocationCache();
    const view = await revocationView();
    expect(view.disabledUsers.has(inserted.id)).toBe(true);
    expect(view.revokedSessions.has(revoked.id)).toBe(true);
    expect(revocationViewStats().fullReads).toBe(before.fullReads);
    // A full read counts them too.
    setRevocationFullReadInterval(0);
    try {
      invalidateRevocationCache();
      const whole = await revocationView();
      expect(revocationViewStats().fullReads).toBeGreaterThan(before.fullReads);
      expect(whole.disabledUsers.has(inserted.id)).toBe(true);
      expect(whole.revokedSessions.has(revoked.id)).toBe(true);
    } finally {
      setRevocationFullReadInterval(10 * 60_000);
    }
  });

  it('does not read again what its last read saw while a long transaction stays open', async () => {
    const user = await createTestUser();
    const long = await superuserClient();
    try {
      // An open transaction with an id holds every snapshot's xmin back.
      await long.query('BEGIN');
      await long.query('SELECT pg_current_xact_id()');
      await setStatus(user.userId, 'disabled');
      const { rows } = await other.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
      const changes = await readRevocationChanges(rows[0]!.snapshot);
      expect(changes.users.map(([id]) => id)).not.toContain(user.userId);
    } finally {
      await long.query('ROLLBACK').catch(() => undefined);
      await long.end();
    }
  });

  it('listens again after its connection is killed, and reads what changed meanwhile', async () => {
    const user = await createTestUser();
    // No background read scheduled (as in the first test): only the reconnection can read the change.
    setRevocationCacheTtl(0);
    await revocationChangesReady();
    setRevocationCacheTtl(5_000);
    const view = await revocationView();
    const before = revocationViewStats();
    const pid = await listenerPid();
    expect(pid).toBeTypeOf('number');
    await other.query('SELECT pg_terminate_backend($1)', [pid]);
    // Changed while nobody listens here (the reconnection waits half a second): its notification is lost.
    await vi.waitFor(async () => expect(await listenerPid()).toBeUndefined(), { timeout: 4_000, interval: 10 });
    await setStatus(user.userId, 'disabled');
    await vi.waitFor(async () => expect(await listenerPid()).toBeTypeOf('number'), { timeout: 4_000, interval: 50 });
    await vi.waitFor(() => expect(view.disabledUsers.has(user.userId)).toBe(true), { timeout: 4_000, interval: 20 });
    expect(revocationViewStats().fullReads).toBe(before.fullReads);
  });

  it('sees this process’s own revocation at the next check', async () => {
    setRevocationCacheTtl(5_000);
    await revocationChangesReady();
    const user = await createTestUser();
    await db().user.update({ where: { id: user.userId }, data: { status: 'disabled' } });
    invalidateRevocationCache();
    expect(await disabled(user.userId)).toBe(true);
  });

  it('serves a view younger than the bound without the database, then fails closed', async () => {
    setRevocationCacheTtl(1_000);
    const user = await createTestUser();
    const sessionId = await sessionOf(user);
    const { token } = await signAccessToken({ issuer: ISSUER, subject: user, sessionId, clientId: 'test-client', audience: AUDIENCE, scope: '', ttlSeconds: 300 });
    await verifyAccessToken(token, { audience: AUDIENCE }); // signing key and view loaded
    invalidateRevocationCache();
    await revocationView(); // confirmed just now
    const url = process.env.DATABASE_URL;
    await closeDatabase();
    process.env.DATABASE_URL = 'postgres://gatehouse_app@127.0.0.1:1/unreachable';
    try {
      await expect(revocationView()).resolves.toBeTruthy();
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await expect(revocationView()).rejects.toThrow();
      const refusal = await verifyAccessToken(token, { audience: AUDIENCE }).then(
        () => 'accepted',
        (error: unknown) => (error instanceof AccessTokenError ? error.reason : 'failed'),
      );
      expect(refusal).toBe('failed');
    } finally {
      await closeDatabase();
      process.env.DATABASE_URL = url;
    }
    await expect(verifyAccessToken(token, { audience: AUDIENCE })).resolves.toMatchObject({ userId: user.userId });
  });
});
