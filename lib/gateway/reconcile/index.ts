/**
 * The gateway reconciler (run by the worker, workers/jobs/reconcile.ts). A gateway that is killed
 * (kill -9, an OOM, a lost machine) never writes the response event or the ledger entry of the
 * calls it had in flight. Every `inference.request` event older than
 * `gateway.reconcile_after_seconds` that has no `inference.response` is closed here: a response
 * event with outcome `unknown` and a ledger entry at the estimate the request event recorded
 * (the prompt estimate plus all of max_tokens, marked estimated), added to the budget counters
 * once. A call whose response was written but whose ledger entry was not gets its entry from the
 * response's figures. The ledger takes each call once, so a late settle never counts twice.
 */
import type { AuditEvent } from '@/lib/audit';
import type { GatehouseConfig } from '@/lib/config';
import type { Usage } from '@/lib/gateway/contracts';
import { recordReconciledResponse } from '@/lib/gateway/evidence';
import type { GatewayLimits, ReconciledCall } from '@/lib/gateway/limits';
import { costMicrodollars, priceBookFor, unseenCallUsage } from '@/lib/gateway/pricing';
import { openCalls, reconciledUntil, setReconciledUntil, tenantIds, withReconcileLock, type OpenCall } from './repository';

export interface ReconcileOptions {
  config: GatehouseConfig;
  limits: GatewayLimits;
  /** Only this tenant's calls (default: every tenant). */
  tenantId?: string;
  now?: Date;
}

export interface ReconcileResult {
  /** False when another run held the lock: nothing was done. */
  ran: boolean;
  /** Calls given a response event (outcome unknown) and a ledger entry. */
  closed: number;
  /** Calls that had a response event and only lacked their ledger entry. */
  ledgerRepaired: number;
}

// Request events are committed a moment after their occurred_at (group commit, clock skew between
// replicas): each run looks this far behind where the previous one stopped.
const SLACK_MS = 5 * 60_000;
// A tenant never reconciled before (a new installation, an upgrade) is looked at this far back.
const FIRST_RUN_LOOKBACK_MS = 7 * 86_400_000;
const PAGE = 500;

function numberAttribute(event: AuditEvent, name: string): number | null {
  const value = event.attributes?.[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function who(request: AuditEvent): Pick<ReconciledCall, 'callId' | 'traceId' | 'tenantId' | 'userId' | 'department' | 'roles' | 'model' | 'route'> {
  const route = request.attributes?.route;
  return {
    route: typeof route === 'string' ? route : null,
    callId: request.event_id,
    traceId: request.trace_id,
    tenantId: request.tenant_id,
    userId: request.actor?.user_id ?? '00000000-0000-0000-0000-000000000000',
    department: request.actor?.department ?? null,
    roles: request.actor?.roles ?? [],
    model: request.gen_ai?.request_model ?? 'unknown',
  };
}

/**
 * What a call nobody saw end is billed: the figures its request event recorded at admission
 * (events from before they were recorded: max_tokens and the prompt estimate, priced now).
 */
function unseenCallBill(config: GatehouseConfig, request: AuditEvent): { usage: Usage; cost: number | null } {
  const input = numberAttribute(request, 'estimated_input_tokens') ?? 0;
  const output = numberAttribute(request, 'expected_output_tokens') ?? request.gen_ai?.max_tokens ?? 0;
  const usage = unseenCallUsage(input, output);
  const recorded = numberAttribute(request, 'estimated_cost_microdollars');
  if (recorded !== null) return { usage, cost: recorded };
  const price = priceBookFor(config).priceFor(request.gen_ai?.request_model ?? '');
  return { usage, cost: price ? costMicrodollars(usage, price) : null };
}

function entryUsage(entry: NonNullable<OpenCall['entry']>): Usage {
  return {
    input_tokens: Number(entry.input_tokens),
    output_tokens: Number(entry.output_tokens),
    cache_creation_input_tokens: Number(entry.cache_creation_input_tokens),
    cache_read_input_tokens: Number(entry.cache_read_input_tokens),
    ...(entry.web_search_requests ? { server_tool_use: { web_search_requests: entry.web_search_requests } } : {}),
  };
}

function responseUsage(response: AuditEvent): Usage {
  const searches = response.attributes?.web_search_requests;
  return {
    input_tokens: response.gen_ai?.input_tokens ?? 0,
    output_tokens: response.gen_ai?.output_tokens ?? 0,
    cache_creation_input_tokens: response.gen_ai?.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: response.gen_ai?.cache_read_input_tokens ?? 0,
    ...(typeof searches === 'number' ? { server_tool_use: { web_search_requests: searches } } : {}),
  };
}

/** Closes one call; returns what it did. */
async function closeCall(options: ReconcileOptions, call: OpenCall, now: Date): Promise<'closed' | 'repaired'> {
  const { request, response, entry } = call;
  const base = { ...who(request), at: call.occurredAt };
  if (response) {
    // The gateway answered and wrote its evidence, but its ledger entry was lost.
    const upstream = response.attributes?.upstream;
    await options.limits.reconcile({
      ...base,
      upstream: typeof upstream === 'string' ? upstream : null,
      usage: responseUsage(response),
      costMicrodollars: response.cost?.microdollars ?? 0,
      usageEstimated: response.attributes?.usage_estimated === true,
      outcome: response.outcome === 'success' || response.outcome === 'failure' ? response.outcome : 'unknown',
    });
    return 'repaired';
  }
  let usage: Usage;
  let cost: number | null;
  let usageEstimated = true;
  if (entry) {
    // The ledger entry was written, then the gateway died before the response event.
    usage = entryUsage(entry);
    cost = Number(entry.cost_microdollars);
    usageEstimated = entry.usage_estimated;
  } else {
    ({ usage, cost } = unseenCallBill(options.config, request));
    await options.limits.reconcile({ ...base, upstream: null, usage, costMicrodollars: cost ?? 0, usageEstimated: true, outcome: 'unknown' });
  }
  await recordReconciledResponse(request, { usage, costMicrodollars: cost, usageEstimated, closedAfterSeconds: (now.getTime() - call.occurredAt.getTime()) / 1000 });
  return 'closed';
}

async function reconcileTenant(options: ReconcileOptions, tenantId: string, now: Date, result: ReconcileResult): Promise<void> {
  const until = new Date(now.getTime() - options.config.gateway.reconcile_after_seconds * 1000);
  const previous = await reconciledUntil(tenantId);
  const from = previous ? new Date(previous.getTime() - SLACK_MS) : new Date(until.getTime() - FIRST_RUN_LOOKBACK_MS);
  let after: { occurredAt: Date; eventId: string } | null = null;
  let failures = 0;
  let firstFailure: unknown;
  for (;;) {
    const page = await openCalls(tenantId, from, until, after, PAGE);
    for (const call of page) {
      // One call that cannot be closed must not hold up the others: it stays open (the
      // watermark does not move past it) and is tried again on the next run.
      try {
        if ((await closeCall(options, call, now)) === 'closed') result.closed += 1;
        else result.ledgerRepaired += 1;
      } catch (error) {
        failures += 1;
        firstFailure ??= error;
      }
    }
    if (page.length < PAGE) break;
    const last = page.at(-1)!;
    after = { occurredAt: last.occurredAt, eventId: last.request.event_id };
  }
  if (failures > 0) {
    const reason = firstFailure instanceof Error ? firstFailure.message : String(firstFailure);
    throw new Error(`${failures} call(s) of tenant ${tenantId} could not be closed (first: ${reason})`);
  }
  await setReconciledUntil(tenantId, until);
}

/** One pass over every tenant (or the one given); at most one pass runs at a time across workers. */
export async function reconcileGatewayCalls(options: ReconcileOptions): Promise<ReconcileResult> {
  const now = options.now ?? new Date();
  const result: ReconcileResult = { ran: true, closed: 0, ledgerRepaired: 0 };
  const failed: string[] = [];
  const ran = await withReconcileLock(async () => {
    // Tenants are independent: one whose calls fail to close does not stop the others.
    for (const tenantId of options.tenantId ? [options.tenantId] : await tenantIds()) {
      try {
        await reconcileTenant(options, tenantId, now, result);
      } catch (error) {
        failed.push(error instanceof Error ? error.message : String(error));
      }
    }
    return true;
  });
  // Reported after every tenant had its turn, so the job fails (and is retried) with the reasons.
  if (failed.length) throw new Error(`reconciling gateway calls: ${failed.join('; ')}`);
  return ran ? result : { ran: false, closed: 0, ledgerRepaired: 0 };
}
