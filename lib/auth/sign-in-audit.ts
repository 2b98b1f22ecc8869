import { z } from 'zod';
import { appendAuditEvent } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { collectUnreportedRefusals, pruneSignInThrottles, type RefusalReport } from './sign-in-throttle';

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

/** The tenant an attempt that names no known user is recorded against: the installation's first. */
export async function fallbackTenantId(): Promise<string | null> {
  const tenant = await db().tenant.findFirst({ orderBy: { createdAt: 'asc' }, select: { id: true } });
  return tenant?.id ?? null;
}

/**
 * One `auth.sign_in` event for the attempts a throttle refused since its last report: a flood
 * of guesses leaves one event per counter and minute, not one per guess. The user is not looked
 * up (a refusal must cost the same whether the account exists), so it names the email typed.
 */
export async function recordThrottledSignIns(report: RefusalReport, origin?: SignInOrigin): Promise<void> {
  const tenantId = await fallbackTenantId();
  if (!tenantId) return; // no tenant yet: nothing exists to sign in to or to record against
  const email = report.kind === 'account' && emailSchema.safeParse(report.label).success ? report.label! : undefined;
  await appendAuditEvent({
    tenant_id: tenantId,
    event_type: 'auth.sign_in',
    action: 'session.create',
    outcome: 'denied',
    actor: { email, roles: [] },
    call_source: 'dashboard',
    origin: auditOrigin(origin ?? (report.kind === 'address' && report.label ? { ip: report.label } : undefined)),
    attributes: {
      method: 'password',
      reason: 'throttled',
      throttled_by: report.kind,
      ...(report.label ? { throttled_subject: report.label.slice(0, 320) } : {}),
      refused_attempts: report.refusedAttempts,
      refused_since: report.since.toISOString(),
    },
  });
}

/**
 * Housekeeping: records the refusals no later attempt reported (a flood that ended within a minute
 * of its last report), then deletes drained counters. Returns how many counters were deleted.
 */
export async function settleSignInThrottles(): Promise<number> {
  for (const report of await collectUnreportedRefusals()) await recordThrottledSignIns(report);
  return pruneSignInThrottles();
}
