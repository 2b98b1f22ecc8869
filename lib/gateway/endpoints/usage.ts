import { anthropicError } from '@/lib/gateway/errors';
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import { fullestCap, gatewayLimits, userSpendSummary, utilizationPercent, type CapStanding } from '@/lib/gateway/limits';
import type { GatewayRequestContext } from '@/lib/gateway/auth';

/** Cents as a number (the contract's unit for dollars), from integer microdollars. */
function cents(microdollars: number): number {
  return Math.round(microdollars / 10_000);
}

function severity(percent: number): 'normal' | 'warning' {
  return percent >= 75 ? 'warning' : 'normal';
}

function cappedUsage(caps: CapStanding[]) {
  const active = fullestCap(caps)!;
  return {
    extra_usage: { is_enabled: true, monthly_limit: cents(active.limit), used_credits: cents(active.spent), utilization: utilizationPercent(active), currency: 'USD' },
    limits: caps.map((cap) => {
      const percent = utilizationPercent(cap);
      // The same instant as the cap's overage-reset header (whole seconds), so clients pair them.
      return { kind: 'spend', group: cap.period, percent, resets_at: cap.resetsAt.toISOString(), severity: severity(percent), is_active: cap === active };
    }),
  };
}

function uncappedUsage(spend: { day: number; week: number; month: number }) {
  // Null, not 0: a 0 limit would read as a $0 cap.
  const amount = (microdollars: number) => ({ limit: null, used_credits: cents(microdollars), utilization: null });
  return {
    extra_usage: { is_enabled: true, monthly_limit: null, used_credits: cents(spend.month), utilization: null, currency: 'USD', daily: amount(spend.day), weekly: amount(spend.week) },
    limits: [],
  };
}

/**
 * GET /api/oauth/usage: the bearer's standing in dollars, for Claude Code's /usage and status
 * line. The cap described is the one the usage headers describe (the fullest); a user with no
 * cap gets their own spend this UTC month, day and week from the ledger.
 */
export async function handleUsage(_request: DataPlaneRequest, context: GatewayRequestContext): Promise<Response> {
  const { principal } = context.caller;
  let body: object;
  try {
    const caps = await gatewayLimits().standing(principal);
    body = caps.length ? cappedUsage(caps) : uncappedUsage(await userSpendSummary(principal.tenantId, principal.userId, new Date()));
  } catch (error) {
    console.error(`usage: cannot read spend for ${principal.userId}: ${(error as Error).message}`);
    // Any error makes the client fall back to the percentages it already has.
    return anthropicError('api_error', 'usage is unavailable right now', { status: 503, headers: { 'cache-control': 'no-store' } });
  }
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}
