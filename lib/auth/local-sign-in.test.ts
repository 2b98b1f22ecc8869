import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { authenticateLocalUser, LOCKOUT_MINUTES, MAX_FAILED_SIGN_INS } from './local-sign-in';
import { hashPassword } from './password';

const PASSWORD = 'correct horse battery staple';
let tenantId: string;
let passwordHash: string;

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  const tenant = await db().tenant.create({ data: { slug: `signin-${suffix}`, name: 'Sign-in tests' } });
  tenantId = tenant.id;
  passwordHash = await hashPassword(PASSWORD);
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

async function createUser(options: { status?: 'active' | 'disabled'; roles?: string[]; department?: string } = {}) {
  const email = `user-${randomUUID()}@example.test`;
  const department = options.department
    ? await db().department.create({ data: { tenantId, slug: `${options.department}-${randomUUID().slice(0, 6)}`, name: options.department } })
    : null;
  const user = await db().user.create({
    data: { tenantId, email, name: 'Test User', passwordHash, status: options.status ?? 'active', departmentId: department?.id ?? null },
  });
  for (const name of options.roles ?? []) {
    const role = await db().role.upsert({
      where: { tenantId_name: { tenantId, name } },
      create: { tenantId, name, permissions: ['audit.read'] },
      update: {},
    });
    await db().roleBinding.create({ data: { userId: user.id, roleId: role.id } });
  }
  return { ...user, departmentSlug: department?.slug ?? null };
}

interface SignInEventRow {
  outcome: string;
  action: string;
  event: { actor?: { email?: string; user_id?: string }; attributes?: Record<string, string>; call_source?: string };
}

async function signInEvents(email: string): Promise<SignInEventRow[]> {
  const result = await pool().query<SignInEventRow>(
    `SELECT outcome, action, event FROM audit_events
      WHERE event_type = 'auth.sign_in' AND event->'actor'->>'email' = $1
      ORDER BY occurred_at, seq`,
    [email],
  );
  return result.rows;
}

describe('authenticateLocalUser', () => {
  it('signs in with the right password, records it, and resets the failure count', async () => {
    const user = await createUser({ roles: ['security'], department: 'platform' });
    await db().user.update({ where: { id: user.id }, data: { failedSignIns: 3 } });

    const result = await authenticateLocalUser(`  ${user.email.toUpperCase()} `, PASSWORD, { ip: '203.0.113.7', userAgent: 'vitest' });

    expect(result).toEqual({
      ok: true,
      user: { id: user.id, email: user.email, name: 'Test User', tenantId, departmentId: user.departmentId, departmentSlug: user.departmentSlug, roles: ['security'] },
    });
    const stored = await db().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.failedSignIns).toBe(0);
    expect(stored.lockedUntil).toBeNull();
    expect(stored.lastSignInAt).toBeInstanceOf(Date);

    const events = await signInEvents(user.email);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'success', action: 'session.create', event: { call_source: 'dashboard', actor: { user_id: user.id } } });
    expect(events[0]?.event.attributes?.reason).toBe('signed_in');
  });

  it('refuses a wrong password, counts it, and records the failure with its reason', async () => {
    const user = await createUser();
    expect(await authenticateLocalUser(user.email, 'wrong password')).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect((await db().user.findUniqueOrThrow({ where: { id: user.id } })).failedSignIns).toBe(1);
    const events = await signInEvents(user.email);
    expect(events.map((e) => [e.outcome, e.event.attributes?.reason])).toEqual([['failure', 'invalid_credentials']]);
  });

  it(`locks the account for ${LOCKOUT_MINUTES} minutes after ${MAX_FAILED_SIGN_INS} consecutive failures`, async () => {
    const user = await createUser();
    for (let attempt = 1; attempt < MAX_FAILED_SIGN_INS; attempt++) {
      expect(await authenticateLocalUser(user.email, `wrong ${attempt}`)).toEqual({ ok: false, reason: 'invalid_credentials' });
    }
    const before = Date.now();
    const locking = await authenticateLocalUser(user.email, 'wrong again');
    expect(locking).toMatchObject({ ok: false, reason: 'locked' });
    const lockedUntil = (locking as { lockedUntil: Date }).lockedUntil.getTime();
    expect(lockedUntil).toBeGreaterThan(before + (LOCKOUT_MINUTES - 1) * 60_000);
    expect(lockedUntil).toBeLessThanOrEqual(Date.now() + LOCKOUT_MINUTES * 60_000 + 1_000);

    // While locked even the right password is refused, and the attempt is recorded as denied.
    expect(await authenticateLocalUser(user.email, PASSWORD)).toMatchObject({ ok: false, reason: 'locked' });
    const events = await signInEvents(user.email);
    expect(events.at(-1)).toMatchObject({ outcome: 'denied', event: { attributes: { reason: 'locked' } } });

    // Once the lock has expired, the right password works and the slate is clean.
    await db().user.update({ where: { id: user.id }, data: { lockedUntil: new Date(Date.now() - 1_000) } });
    expect(await authenticateLocalUser(user.email, PASSWORD)).toMatchObject({ ok: true });
    const stored = await db().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.failedSignIns).toBe(0);
    expect(stored.lockedUntil).toBeNull();
  });

  it('counts concurrent failures exactly, so parallel guessing cannot skip the lock', async () => {
    const user = await createUser();
    const results = await Promise.all(Array.from({ length: MAX_FAILED_SIGN_INS }, (_, i) => authenticateLocalUser(user.email, `parallel ${i}`)));
    expect(results.filter((r) => !r.ok && r.reason === 'locked')).toHaveLength(1);
    const stored = await db().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.lockedUntil!.getTime()).toBeGreaterThan(Date.now());
  });

  it('tells only someone with the right password that the account is disabled', async () => {
    const user = await createUser({ status: 'disabled' });
    expect(await authenticateLocalUser(user.email, 'wrong password')).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(await authenticateLocalUser(user.email, PASSWORD)).toEqual({ ok: false, reason: 'disabled' });
    const events = await signInEvents(user.email);
    expect(events.map((e) => [e.outcome, e.event.attributes?.reason])).toEqual([
      ['failure', 'invalid_credentials'],
      ['denied', 'disabled'],
    ]);
    expect((await db().user.findUniqueOrThrow({ where: { id: user.id } })).lastSignInAt).toBeNull();
  });

  it('treats an unknown email like a wrong password, and still records the attempt', async () => {
    const email = `nobody-${randomUUID()}@example.test`;
    expect(await authenticateLocalUser(email, PASSWORD)).toEqual({ ok: false, reason: 'invalid_credentials' });
    const events = await signInEvents(email);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'failure', event: { attributes: { reason: 'invalid_credentials', cause: 'unknown_email' } } });
    expect(events[0]?.event.actor?.user_id).toBeUndefined();
  });

  it('refuses malformed input without failing the audit record', async () => {
    expect(await authenticateLocalUser('not an email\u0000', PASSWORD, { ip: 'not-an-ip' })).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(await authenticateLocalUser('', '')).toEqual({ ok: false, reason: 'invalid_credentials' });
  });
});
