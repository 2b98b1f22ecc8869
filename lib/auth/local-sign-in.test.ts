import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter, flushCountedEvents } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import type { CredentialsConfig } from 'next-auth/providers/credentials';
import { randomTestIp } from '@/lib/oauth/test-harness';
import { authenticateLocalUser, type LocalSignInResult } from './local-sign-in';
import { authOptionsForRequest } from './options';
import { encodeSignInError, signInErrorMessage } from './sign-in-errors';
import { ACCOUNT_RULE, ADDRESS_RULE, KNOWN_ADDRESS_DAYS, pruneSignInThrottles } from './sign-in-throttle';
import { hashPassword } from './password';
import { ensureTenant } from '@/lib/users/tenant';

const PASSWORD = 'correct horse battery staple';
let tenantId: string;
let passwordHash: string;

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  const tenant = await db().tenant.create({ data: { slug: `signin-${suffix}`, name: 'Sign-in tests' } });
  tenantId = tenant.id;
  passwordHash = await hashPassword(PASSWORD);
  // Attempts that name no known user are recorded against the installation's tenant, which a
  // first start creates.
  await ensureTenant().catch(() => ensureTenant());
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
  event: { actor?: { email?: string; user_id?: string }; attributes?: Record<string, string | number>; call_source?: string; origin?: { ip?: string } };
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

/** Events of refusals counted by a throttle, for one counter (`address:…` or `account:…`). */
async function throttledEvents(counter: string): Promise<SignInEventRow[]> {
  const result = await pool().query<SignInEventRow>(
    `SELECT outcome, action, event FROM audit_events
      WHERE event_type = 'auth.sign_in' AND event->'attributes'->>'reason' = 'throttled' AND event->'attributes'->>'throttled_key' = $1
      ORDER BY occurred_at, seq`,
    [counter],
  );
  return result.rows;
}

/** What the person at the sign-in form sees: the message next-auth carries to the form. */
function shown(result: LocalSignInResult): string | null {
  if (result.ok) return 'signed in';
  return signInErrorMessage(encodeSignInError(result.reason, result.reason === 'throttled' ? result.retryAfterSeconds : undefined));
}

/**
 * The throttle's time for one test, standing still until the test moves it: counters drain with
 * time, so on a loaded machine (a scrypt check per attempt) wall time would drain them between
 * attempts and let an attempt through that the rules refuse, or pass a delay the test expects.
 */
function throttleTime(): { throttleClock: () => Date; advance(seconds: number): void } {
  let now = Date.now();
  return {
    throttleClock: () => new Date(now),
    advance: (seconds) => {
      now += seconds * 1000;
    },
  };
}

type Time = ReturnType<typeof throttleTime>;

async function failTimes(times: number, email: string, ip: string, time: Time): Promise<LocalSignInResult[]> {
  const results: LocalSignInResult[] = [];
  for (let attempt = 0; attempt < times; attempt++) results.push(await authenticateLocalUser(email, `wrong ${attempt}`, { ip }, time));
  return results;
}

describe('authenticateLocalUser', () => {
  it('signs in with the right password and records it', async () => {
    const user = await createUser({ roles: ['security'], department: 'platform' });

    const result = await authenticateLocalUser(`  ${user.email.toUpperCase()} `, PASSWORD, { ip: '203.0.113.7', userAgent: 'vitest' });

    expect(result).toEqual({
      ok: true,
      user: { id: user.id, email: user.email, name: 'Test User', tenantId, departmentId: user.departmentId, departmentSlug: user.departmentSlug, roles: ['security'] },
    });
    const stored = await db().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.lastSignInAt).toBeInstanceOf(Date);

    const events = await signInEvents(user.email);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'success', action: 'session.create', event: { call_source: 'dashboard', actor: { user_id: user.id }, origin: { ip: '203.0.113.7' } } });
    expect(events[0]?.event.attributes?.reason).toBe('signed_in');
  });

  it('refuses a wrong password and records the failure with its reason', async () => {
    const user = await createUser();
    expect(await authenticateLocalUser(user.email, 'wrong password', { ip: randomTestIp() })).toEqual({ ok: false, reason: 'invalid_credentials' });
    const events = await signInEvents(user.email);
    expect(events.map((e) => [e.outcome, e.event.attributes?.reason, e.event.attributes?.cause])).toEqual([['failure', 'invalid_credentials', 'wrong_password']]);
  });

  it('throttles an address the same way whether the email exists or not, and never says which', { timeout: 120_000 }, async () => {
    const known = await createUser();
    const unknown = `nobody-${randomUUID()}@example.test`;
    const [knownAddress, unknownAddress] = [randomTestIp(), randomTestIp()];
    const time = throttleTime();

    const knownResults = await failTimes(ADDRESS_RULE.failures, known.email, knownAddress, time);
    const unknownResults = await failTimes(ADDRESS_RULE.failures, unknown, unknownAddress, time);
    expect(knownResults).toEqual(unknownResults);
    expect(new Set(knownResults.map(shown))).toEqual(new Set(['Email or password is incorrect']));

    // The next attempt is refused before any check, with the same answer for both; even the
    // right password does not get through from that address meanwhile.
    const knownThrottled = await authenticateLocalUser(known.email, PASSWORD, { ip: knownAddress }, time);
    const unknownThrottled = await authenticateLocalUser(unknown, PASSWORD, { ip: unknownAddress }, time);
    expect(knownThrottled).toMatchObject({ ok: false, reason: 'throttled' });
    expect(unknownThrottled).toMatchObject({ ok: false, reason: 'throttled' });
    expect(shown(knownThrottled)).toBe(shown(unknownThrottled));
    expect(shown(knownThrottled)).toMatch(/^Too many sign-in attempts — try again in \d+ minutes?$/);
    expect(shown(knownThrottled)).not.toMatch(/account/i);
    expect(encodeSignInError('throttled', (knownThrottled as { retryAfterSeconds: number }).retryAfterSeconds)).toBe(
      encodeSignInError('throttled', (unknownThrottled as { retryAfterSeconds: number }).retryAfterSeconds),
    );
  });

  // Forty real password checks (scrypt) on a shared machine: more time than the default.
  it('throttles an account name tried from many addresses the same way whether it exists or not', { timeout: 120_000 }, async () => {
    const known = await createUser();
    const unknown = `nobody-${randomUUID()}@example.test`;
    const time = throttleTime();
    const outcomes = async (email: string) => {
      // Spread over addresses, each below its own limit: only the account counter can stop this.
      for (let spent = 0; spent < ACCOUNT_RULE.freeFailures; spent += ADDRESS_RULE.failures - 1) {
        await failTimes(Math.min(ADDRESS_RULE.failures - 1, ACCOUNT_RULE.freeFailures - spent), email, randomTestIp(), time);
      }
      return authenticateLocalUser(email, PASSWORD, { ip: randomTestIp() }, time);
    };
    const [knownNext, unknownNext] = await Promise.all([outcomes(known.email), outcomes(unknown)]);
    expect(knownNext).toEqual({ ok: false, reason: 'throttled', retryAfterSeconds: ACCOUNT_RULE.firstDelaySeconds });
    expect(unknownNext).toEqual(knownNext);
    // Still held back just before the delay has passed...
    time.advance(ACCOUNT_RULE.firstDelaySeconds - 0.1);
    expect(await authenticateLocalUser(known.email, PASSWORD, { ip: randomTestIp() }, time)).toMatchObject({ ok: false, reason: 'throttled' });
    // ...and a delay, not a lock: once it has passed, the owner's right password works again.
    time.advance(0.1);
    expect(await authenticateLocalUser(known.email, PASSWORD, { ip: randomTestIp() }, time)).toMatchObject({ ok: true });
  });

  it('lets the owner in from an address they signed in from while guesses from many addresses hold the account back', { timeout: 120_000 }, async () => {
    const owner = await createUser();
    const home = randomTestIp();
    const time = throttleTime();
    expect(await authenticateLocalUser(owner.email, PASSWORD, { ip: home }, time)).toMatchObject({ ok: true });
    // Guesses spread over addresses, each below its own limit, until the account counter holds
    // every new address back; a guesser polling for free would take each attempt it lets through.
    for (let spent = 0; spent < ACCOUNT_RULE.freeFailures; spent += ADDRESS_RULE.failures - 1) {
      await failTimes(Math.min(ADDRESS_RULE.failures - 1, ACCOUNT_RULE.freeFailures - spent), owner.email, randomTestIp(), time);
    }
    expect(await authenticateLocalUser(owner.email, PASSWORD, { ip: randomTestIp() }, time)).toMatchObject({ ok: false, reason: 'throttled' });
    expect(await authenticateLocalUser(owner.email, PASSWORD, { ip: home }, time)).toMatchObject({ ok: true });
  });

  it('keeps an account\'s known address for its 30 days when housekeeping prunes idle counters', async () => {
    const owner = await createUser();
    const home = randomTestIp();
    expect(await authenticateLocalUser(owner.email, PASSWORD, { ip: home })).toMatchObject({ ok: true });
    const keys = [`address:${home}`, `account:${owner.email}`, `known:account:${owner.email} address:${home}`];
    const age = (days: number) => pool().query(`UPDATE sign_in_throttles SET updated_at = now() - make_interval(days => $2) WHERE key = ANY($1)`, [keys, days]);
    const left = async () => (await pool().query<{ key: string }>('SELECT key FROM sign_in_throttles WHERE key = ANY($1) ORDER BY key', [keys])).rows.map((row) => row.key);

    await age(2);
    await pruneSignInThrottles();
    expect(await left()).toEqual([keys[2]]);
    await age(KNOWN_ADDRESS_DAYS + 1);
    await pruneSignInThrottles();
    expect(await left()).toEqual([]);
  });

  it('lets the owner in from another address while one address hammers the account', async () => {
    const owner = await createUser();
    const attacker = randomTestIp();
    const time = throttleTime();
    const hammered = await failTimes(ADDRESS_RULE.failures * 3, owner.email, attacker, time);
    expect(hammered.filter((result) => !result.ok && result.reason === 'throttled')).toHaveLength(ADDRESS_RULE.failures * 2);
    expect(await authenticateLocalUser(owner.email, PASSWORD, { ip: randomTestIp() }, time)).toMatchObject({ ok: true });
    // And the attacker's address is still held back.
    expect(await authenticateLocalUser(owner.email, PASSWORD, { ip: attacker }, time)).toMatchObject({ ok: false, reason: 'throttled' });
  });

  it('counts parallel attempts exactly, and records the refusals counted instead of one event each', async () => {
    const email = `burst-${randomUUID()}@example.test`;
    const address = randomTestIp();
    const burst = 3 * ADDRESS_RULE.failures;
    const time = throttleTime();
    const results = await Promise.all(Array.from({ length: burst }, (_, i) => authenticateLocalUser(email, `parallel ${i}`, { ip: address }, time)));
    expect(results.filter((r) => !r.ok && r.reason === 'invalid_credentials')).toHaveLength(ADDRESS_RULE.failures);
    const refused = burst - ADDRESS_RULE.failures;
    expect(results.filter((r) => !r.ok && r.reason === 'throttled')).toHaveLength(refused);

    // Each checked attempt has its event; the refusals are counted into one event for the counter.
    expect(await signInEvents(email)).toHaveLength(ADDRESS_RULE.failures);
    await flushCountedEvents({ all: true });
    const counted = await throttledEvents(`address:${address}`);
    expect(counted).toHaveLength(1);
    expect(counted[0]).toMatchObject({
      outcome: 'denied',
      event: { origin: { ip: address }, attributes: { throttled_by: 'address', count: refused, email: `${email}:${refused}`, method: 'password' } },
    });
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
    expect(await authenticateLocalUser(email, PASSWORD, { ip: randomTestIp() })).toEqual({ ok: false, reason: 'invalid_credentials' });
    const events = await signInEvents(email);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'failure', event: { attributes: { reason: 'invalid_credentials', cause: 'unknown_email' } } });
    expect(events[0]?.event.actor?.user_id).toBeUndefined();
  });

  it('refuses malformed input without failing the audit record', async () => {
    expect(await authenticateLocalUser('not an email\u0000', PASSWORD, { ip: 'not-an-ip' })).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(await authenticateLocalUser('', '', { ip: randomTestIp() })).toEqual({ ok: false, reason: 'invalid_credentials' });
  });
});

describe('the password provider', () => {
  it('keys throttling and the audit record on the client address the trusted proxies vouch for, not the first X-Forwarded-For entry', async () => {
    const user = await createUser();
    const peer = randomTestIp();
    // The Node server appends the socket peer (here not a trusted proxy); the first entry is the client's own claim.
    const headers = { 'x-forwarded-for': `6.6.6.6, ${peer}`, 'user-agent': 'vitest' };
    const options = authOptionsForRequest(new Request('http://127.0.0.1/api/auth/callback/credentials', { method: 'POST', headers }));
    const provider = options.providers.find((candidate) => candidate.id === 'credentials') as CredentialsConfig;
    await expect(provider.options.authorize({ email: user.email, password: 'wrong' }, { headers, method: 'POST', body: {}, query: {} })).rejects.toThrow('invalid_credentials');
    const events = await signInEvents(user.email);
    expect(events.at(-1)?.event.origin).toEqual({ ip: peer, user_agent: 'vitest' });
    const counted = await pool().query<{ score: number }>(`SELECT score FROM sign_in_throttles WHERE key = $1`, [`address:${peer}`]);
    expect(counted.rows).toEqual([{ score: 1 }]);
    expect((await pool().query(`SELECT 1 FROM sign_in_throttles WHERE key = 'address:6.6.6.6'`)).rows).toEqual([]);
  });
});
