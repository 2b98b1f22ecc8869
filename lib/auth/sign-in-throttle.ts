import { isIP } from 'node:net';
import { db } from '@/lib/db/client';

/**
 * Password sign-in throttling, shared by every web process through PostgreSQL (the one store
 * every deployment has; sign-in is far too rare for the round trip to matter).
 *
 * Two counters vouch for each attempt: one for the client address, one for the account name
 * typed, whether or not such an account exists, so an unknown email is throttled exactly like a
 * known one and the answer never tells them apart. Each counter is a failure score that decays
 * linearly (a leaky bucket): it drains at `failures / windowSeconds` per second.
 *
 *  - Address: at most `ADDRESS_RULE.failures` failures per window; after that the address waits
 *    until the score has drained below the limit. This is what stops a guesser at one address.
 *  - Account: the first `ACCOUNT_RULE.freeFailures` failures per window cost nothing; beyond them,
 *    each attempt must wait a delay that doubles (1 s, 2 s, 4 s …, at most `maxDelaySeconds`)
 *    after the previous one. The free allowance is larger than the address limit, so a guesser
 *    at one address never slows down the account's owner at another; only a guess spread over
 *    several addresses does, and then by a bounded delay, never a lock.
 *  - Known address: an address the account signed in from successfully (within `KNOWN_ADDRESS_DAYS`)
 *    is not held back by the account counter, only by its own. Without this, a guesser with a few
 *    addresses (one IPv6 /56 is 256 of them) keeps the account's delay up and, polling for free,
 *    takes every attempt the delay lets through: the owner would never get one.
 *
 * An attempt is charged to both counters before the password is checked, in one transaction
 * with the rows locked, so parallel attempts cannot slip past together; a successful sign-in
 * gives the charge back. Refused attempts are not charged: hammering a throttled counter does
 * not extend anyone's wait.
 */

export const ADDRESS_RULE = { failures: 10, windowSeconds: 15 * 60 } as const;
export const ACCOUNT_RULE = { freeFailures: 20, windowSeconds: 15 * 60, firstDelaySeconds: 1, maxDelaySeconds: 5 * 60 } as const;

export const KNOWN_ADDRESS_DAYS = 30;

export type ThrottleKind = 'address' | 'account';

/**
 * The time a counter is charged and drained at. Production leaves it to PostgreSQL's clock (one
 * clock for every web process); a test passes its own, so slow password checks on a loaded
 * machine drain nothing between attempts and a delay passes when the test says so.
 */
export type ThrottleClock = () => Date;

// A burst of parallel attempts queues on the counter rows; each transaction is a few statements,
// so waiting longer than Prisma's default 2 s for a connection beats failing the attempt.
const BURST_TOLERANT = { maxWait: 10_000, timeout: 10_000 };

/** The two counters of one attempt. */
export interface SignInSubject {
  /** The client address (lib/http/client-ip.ts); undefined shares one counter for all such attempts. */
  ip?: string;
  /** The account name as typed. */
  email: string;
}

interface CounterKey {
  kind: ThrottleKind;
  key: string;
}

export type ThrottleVerdict =
  | { allowed: true }
  | { allowed: false; /** The counter that refused, as stored (`address:…` or `account:…`). */ limitedBy: { kind: ThrottleKind; key: string }; retryAfterSeconds: number };

/** One IPv6 host usually owns a whole /64, so that is what an IPv6 address counts as. */
function addressKey(ip: string | undefined): string {
  if (!ip || !isIP(ip)) return 'address:unknown';
  if (isIP(ip) === 4) return `address:${ip}`;
  const groups = ipv6Groups(ip);
  return groups ? `address:${groups.slice(0, 4).join(':')}::/64` : `address:${ip.toLowerCase()}`;
}

/** The eight groups of an IPv6 address (the URL parser first rewrites an embedded IPv4 tail as hex). */
function ipv6Groups(ip: string): string[] | null {
  let canonical: string;
  try {
    canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const [head = '', tail] = canonical.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right];
}

/**
 * The name typed, as sign-in matches it (trimmed, lower case); bounded so a key stays small, and
 * storable (PostgreSQL text holds neither NUL nor unpaired surrogates, and anything can be typed).
 */
export function accountName(email: string): string {
  return email.trim().toLowerCase().slice(0, 320).toWellFormed().replaceAll('\u0000', '\uFFFD');
}

function countersOf(subject: SignInSubject): CounterKey[] {
  const name = accountName(subject.email);
  return [
    { kind: 'address', key: addressKey(subject.ip) },
    { kind: 'account', key: `account:${name}` },
  ];
}

/**
 * The row saying this account signed in from this address (not a counter: its score stays 0).
 * None without an address: every such attempt shares one, which can vouch for nobody.
 */
function knownAddressKey(subject: SignInSubject): string | null {
  const [address, account] = countersOf(subject);
  return address!.key === addressKey(undefined) ? null : `known:${account!.key} ${address!.key}`;
}

interface CounterRow {
  key: string;
  score: number;
  updated_at: Date;
  now: Date;
}

function drainRate(kind: ThrottleKind): number {
  return kind === 'address' ? ADDRESS_RULE.failures / ADDRESS_RULE.windowSeconds : ACCOUNT_RULE.freeFailures / ACCOUNT_RULE.windowSeconds;
}

/** The failure score now, after draining since it was last charged. */
export function drainedScore(kind: ThrottleKind, score: number, elapsedSeconds: number): number {
  return Math.max(0, score - Math.max(0, elapsedSeconds) * drainRate(kind));
}

/** Seconds until one more failure may be tried on this counter (0: now). */
export function waitSeconds(kind: ThrottleKind, score: number, elapsedSeconds: number): number {
  const drained = drainedScore(kind, score, elapsedSeconds);
  if (kind === 'address') {
    const excess = drained + 1 - ADDRESS_RULE.failures;
    return excess <= 0 ? 0 : excess / drainRate(kind);
  }
  const over = drained + 1 - ACCOUNT_RULE.freeFailures;
  if (over <= 0) return 0;
  const gap = Math.min(ACCOUNT_RULE.maxDelaySeconds, ACCOUNT_RULE.firstDelaySeconds * 2 ** (Math.ceil(over) - 1));
  return Math.max(0, gap - Math.max(0, elapsedSeconds));
}

function secondsBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / 1000;
}

/**
 * Decides an attempt before its password is checked. Allowed: both counters are charged one
 * failure (give it back with signInSucceeded). Refused: nothing is charged.
 */
export async function admitSignIn(subject: SignInSubject, clock?: ThrottleClock): Promise<ThrottleVerdict> {
  // Sorted, so two attempts sharing a counter always lock in the same order (no deadlock).
  const counters = countersOf(subject).sort((a, b) => a.key.localeCompare(b.key));
  const keys = counters.map((counter) => counter.key);
  const known = knownAddressKey(subject);
  const at = clock?.() ?? null;
  return db().$transaction(async (tx) => {
    await tx.$executeRaw`
      INSERT INTO sign_in_throttles (key, score, updated_at)
      SELECT key, 0, coalesce(${at}::timestamptz, now()) FROM unnest(${keys}::text[]) AS key
      ON CONFLICT (key) DO NOTHING`;
    // The known-address row is read in the same statement whatever the answer, so it costs the
    // same for every email typed.
    const rows = await tx.$queryRaw<CounterRow[]>`
      SELECT key, score, updated_at, coalesce(${at}::timestamptz, now()) AS now
        FROM sign_in_throttles WHERE key = ANY(${known ? [...keys, known] : keys}::text[]) ORDER BY key FOR UPDATE`;
    const knownRow = rows.find((row) => row.key === known);
    const fromKnownAddress = knownRow !== undefined && secondsBetween(knownRow.updated_at, knownRow.now) < KNOWN_ADDRESS_DAYS * 86_400;
    const waits = counters.map((counter) => {
      const row = rows.find((candidate) => candidate.key === counter.key)!;
      const exempt = counter.kind === 'account' && fromKnownAddress;
      return { counter, row, wait: exempt ? 0 : waitSeconds(counter.kind, row.score, secondsBetween(row.updated_at, row.now)) };
    });
    const blocking = waits.filter((entry) => entry.wait > 0).sort((a, b) => b.wait - a.wait)[0];
    if (!blocking) {
      for (const { counter, row } of waits) {
        const score = drainedScore(counter.kind, row.score, secondsBetween(row.updated_at, row.now)) + 1;
        await tx.$executeRaw`UPDATE sign_in_throttles SET score = ${score}, updated_at = coalesce(${at}::timestamptz, now()) WHERE key = ${counter.key}`;
      }
      return { allowed: true };
    }
    return { allowed: false, limitedBy: { kind: blocking.counter.kind, key: blocking.counter.key }, retryAfterSeconds: Math.ceil(blocking.wait) };
  }, BURST_TOLERANT);
}

/**
 * Gives back the charge of an attempt whose password was right: the owner's success clears the
 * account, and makes the address a known one for it.
 */
export async function signInSucceeded(subject: SignInSubject, clock?: ThrottleClock): Promise<void> {
  const [address, account] = countersOf(subject);
  const known = knownAddressKey(subject);
  const at = clock?.() ?? null;
  // In admitSignIn's lock order (by key: account, address, known), so an attempt admitted at the
  // same moment for the same account and address cannot deadlock with this one.
  await db().$transaction([
    db().$executeRaw`UPDATE sign_in_throttles SET score = 0, updated_at = coalesce(${at}::timestamptz, now()) WHERE key = ${account!.key}`,
    db().$executeRaw`
      UPDATE sign_in_throttles
         SET score = greatest(0, score - extract(epoch FROM coalesce(${at}::timestamptz, now()) - updated_at) * ${drainRate('address')} - 1),
             updated_at = coalesce(${at}::timestamptz, now())
       WHERE key = ${address!.key}`,
    ...(known
      ? [
          db().$executeRaw`
            INSERT INTO sign_in_throttles (key, score, updated_at) VALUES (${known}, 0, coalesce(${at}::timestamptz, now()))
            ON CONFLICT (key) DO UPDATE SET updated_at = EXCLUDED.updated_at`,
        ]
      : []),
  ]);
}

/** Housekeeping: deletes counters idle for a day (long drained) and known addresses past their time. Returns how many. */
export async function pruneSignInThrottles(): Promise<number> {
  return db().$executeRaw`
    DELETE FROM sign_in_throttles
     WHERE updated_at < now() - CASE WHEN key LIKE 'known:%' THEN make_interval(days => ${KNOWN_ADDRESS_DAYS}::int) ELSE interval '1 day' END`;
}
