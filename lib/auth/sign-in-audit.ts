import { z } from 'zod';
import { countAuditEvent } from '@/lib/audit';
import { systemTenantId } from '@/lib/config';
import type { ThrottleKind } from './sign-in-throttle';

/** Where a sign-in attempt came from, recorded with it. */
export interface SignInOrigin {
  /** The client address as lib/http/client-ip.ts determines it (trusted proxies only). */
  ip?: string;
  userAgent?: string;
}

const ipSchema = z.union([z.ipv4(), z.ipv6()]);
const emailSchema = z.email().max(320);

/** Only well-formed values are recorded: a bad header must not fail the sign-in. */
export function auditOrigin(origin: SignInOrigin | undefined): { ip?: string; user_agent?: string } | undefined {
  const ip = ipSchema.safeParse(origin?.ip).success ? origin?.ip : undefined;
  const userAgent = origin?.userAgent?.replace(/\u0000/g, '').slice(0, 1000) || undefined;
  return ip || userAgent ? { ip, user_agent: userAgent } : undefined;
}

let installationTenantId: string | undefined;

/**
 * The tenant an attempt that names no known user is recorded against: the installation's own.
 * Looked up once per process (it never changes), so an unknown email costs no database round
 * trip that a known one does not: the answer's timing does not tell them apart.
 */
export async function fallbackTenantId(): Promise<string | null> {
  installationTenantId ??= (await systemTenantId()) ?? undefined;
  return installationTenantId ?? null;
}

/**
 * A throttled attempt, counted: a flood of guesses is one `auth.sign_in` event per refusing
 * counter and minute (lib/audit/counted.ts), with the count and the addresses and names tried
 * tallied, not one event per guess. The user is not looked up (a refusal must cost the same
 * whether the account exists), so the event names only what was typed.
 */
export async function countThrottledSignIn(refusal: { kind: ThrottleKind; key: string }, email: string, origin: SignInOrigin): Promise<void> {
  const tenantId = await fallbackTenantId();
  if (!tenantId) return; // no tenant yet: nothing exists to sign in to or to record against
  const ip = auditOrigin(origin)?.ip;
  const typed = emailSchema.safeParse(email).success ? email : 'malformed';
  countAuditEvent({
    key: `auth.sign_in.throttled\u0000${tenantId}\u0000${refusal.key}`,
    event: {
      tenant_id: tenantId,
      event_type: 'auth.sign_in',
      action: 'session.create',
      outcome: 'denied',
      actor: { email: refusal.kind === 'account' && typed !== 'malformed' ? typed : undefined, roles: [] },
      call_source: 'dashboard',
      origin: refusal.kind === 'address' ? auditOrigin(origin) : undefined,
      attributes: { method: 'password', reason: 'throttled', throttled_by: refusal.kind, throttled_key: refusal.key.slice(0, 400) },
    },
    tally: refusal.kind === 'address' ? { email: typed } : { ip: ip ?? 'unknown' },
  });
}
