/**
 * POST /v1/messages: the gateway's request pipeline. Authenticate, authorise, read and inspect
 * the body, route, admit against limits, commit the request event, then dispatch upstream and
 * relay the answer as it streams. The response event is written once the upstream's answer has
 * settled (or the client went away), with usage and cost, under the same trace id.
 */
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import { DirectReply, headerRecord, type DataPlaneReply } from '@/lib/http/reply';
import { runInBackground } from '@/lib/platform/background';
import { isRecord } from '@/lib/platform/json';
import type { GatewayRequestContext } from './auth';
import { UpstreamUnavailableError, type CompletionSummary, type DispatchResult, type GatewayCaller, type RouteDecision } from './contracts';
import { anthropicError, GatewayError, knownErrorResponse } from './errors';
import { callOutcome, countPolicyDecision, recordInferenceRequest, recordInferenceResponse, recordPolicyDecision, type CallRecord, type ResponseEventInput } from './evidence';
import { gatewayLimits, type Reservation, type SettleResult } from './limits';
import { compiledPolicy, inspectContent, PromptWalk, readMessagesBody, serverToolAllowance, type MessagesBody, type RedactionSummary } from './policy';
import { billedUsage, costMicrodollars, priceBookFor, unseenCallUsage, type BilledUsage } from './pricing';
import { routeOrDefault } from './routing';
import { dispatch } from './upstreams';

/** A request that passed authentication and policy, ready for limits and the upstream. */
export interface Admitted {
  caller: GatewayCaller;
  record: CallRecord;
  /**
   * The body as it goes upstream: redactions applied, `tags` removed. Until the request event is
   * recorded it changes only through the segments of its walk (`prompt`): the walk's stored form
   * is a snapshot of the body as walked, so a change made any other way would go upstream but not
   * into the evidence (under vitest, PromptWalk.document() checks this against a fresh serialisation).
   */
  body: MessagesBody;
  /**
   * The body's one walk: its token estimate and its serialisation for the evidence, digests
   * included. It holds a copy of the prompt, so handleMessages takes it out before admission and
   * only the estimate and the stored form outlive it; nothing kept for the stream holds the walk.
   */
  prompt: PromptWalk;
  bytes: number;
  route: RouteDecision;
  /** The model id the client asked for when gateway.map_unknown_claude_models served it with the default model. */
  mappedFrom: string | null;
  /** Request tags (billing group), recorded in the audit trail and never sent upstream. */
  tags: Record<string, string>;
  redactions: RedactionSummary[];
}

export interface PreflightOptions {
  /** Messages need max_tokens; count_tokens does not. */
  requireMaxTokens: boolean;
}

const TAG_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * Takes the Anthropic API's request tags out of the body (no upstream needs them; Bedrock and
 * Vertex reject them) and keeps the well-formed ones for the audit trail.
 */
function takeTags(body: MessagesBody): Record<string, string> {
  const tags = body.tags;
  delete body.tags;
  const kept: Record<string, string> = {};
  if (!isRecord(tags)) return kept;
  for (const [name, value] of Object.entries(tags as Record<string, unknown>).slice(0, 20)) {
    if (TAG_NAME.test(name) && typeof value === 'string') kept[name] = value.slice(0, 500);
  }
  return kept;
}

async function deny(record: CallRecord, response: Response, decision: Parameters<typeof recordPolicyDecision>[1]): Promise<Response> {
  await recordPolicyDecision(record, decision);
  return response;
}

/**
 * Everything before limits, shared by messages and count_tokens (the caller is authenticated and
 * holds inference.invoke: see withGatewayCaller): the body within the size cap, a route for the
 * model, model access, the provider-side features the policy allows, and the blocklist and
 * secret scan over every string of the body (redactions applied to the body). Refusals that are
 * policy decisions are audited before the answer goes out.
 */
export async function preflight(request: DataPlaneRequest, context: GatewayRequestContext, options: PreflightOptions): Promise<Admitted | Response> {
  const { snapshot, caller, record } = context;
  const { principal } = caller;
  const policy = compiledPolicy(snapshot.config);

  let body: MessagesBody;
  let bytes: number;
  try {
    ({ body, bytes } = await readMessagesBody(request, { maxBytes: policy.maxBodyBytes, requireMaxTokens: options.requireMaxTokens }));
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    if (error.type !== 'request_too_large') return error.toResponse();
    return deny(record, error.toResponse(), {
      action: 'content.inspect',
      decision: 'deny',
      rule: 'policy.max_body_bytes',
      reason: `body over ${policy.maxBodyBytes} bytes`,
      status: 413,
      attributes: { content_length: request.headers.get('content-length') ?? '' },
    });
  }

  const requested = body.model;
  const { route, model, mappedFrom } = routeOrDefault(snapshot.config, { model: requested, department: principal.department, roles: principal.roles, callSource: caller.callSource });
  if (!route || route.targets.length === 0) {
    // Counted per user and minute: a client retrying a made-up model id must not flood the chain.
    countPolicyDecision(record, { action: 'inference.route', decision: 'deny', rule: 'routing.unknown_model', reason: 'no route or model entry serves the requested model', status: 400 }, { model: requested.slice(0, 200) });
    return anthropicError('invalid_request_error', `model ${requested} is not available on this gateway`);
  }
  // From here on the request is the served model's: access, limits, prices and the upstream.
  body.model = model;
  if (!policy.modelAccess.allows(model, principal)) {
    return deny(record, anthropicError('invalid_request_error', `model ${model} is not available to you under your organisation's policy`), {
      action: 'inference.authorize',
      decision: 'deny',
      rule: 'policy.model_access',
      reason: `no model_access rule for the caller allows ${model}`,
      model,
      status: 400,
    });
  }

  const refusal = policy.upstreamFeatures.check(body, request.headers.get('anthropic-beta'));
  if (refusal) {
    return deny(record, anthropicError('invalid_request_error', refusal.message), {
      action: 'upstream.features',
      decision: 'deny',
      rule: refusal.rule,
      reason: refusal.message,
      model,
      status: 400,
      attributes: { field: refusal.field },
    });
  }

  const tags = takeTags(body);
  const prompt = new PromptWalk(body);
  const verdict = await inspectContent(prompt, { tenantId: principal.tenantId, blocklist: policy.blocklist, secretsMode: policy.secretsMode, cache: policy.scanCache });
  if (verdict.kind === 'block') {
    return deny(record, anthropicError('invalid_request_error', verdict.message), {
      action: 'content.inspect',
      decision: 'block',
      rule: verdict.rule,
      reason: verdict.message,
      model,
      status: 400,
    });
  }
  return { caller, record, body, prompt, bytes, route, mappedFrom, tags, redactions: verdict.redactions };
}

function redactionEvents(admitted: AdmittedCall): Promise<void>[] {
  return admitted.redactions.map((redaction) =>
    recordPolicyDecision(admitted.record, {
      action: 'content.inspect',
      decision: 'redact',
      rule: `policy.secrets.${redaction.rule}`,
      reason: `${redaction.count} × ${redaction.kind} replaced before the request left Gatehouse`,
      model: admitted.body.model,
      attributes: { redactions: redaction.count },
    }),
  );
}

/** What a call keeps while its answer streams: everything admitted but the prompt's walk. */
type AdmittedCall = Omit<Admitted, 'prompt'>;

interface Settlement {
  admitted: AdmittedCall;
  context: GatewayRequestContext;
  reservation: Reservation;
  request: DataPlaneRequest;
  stream: boolean;
  /** The admission's prompt estimate: what the prompt is billed at if the upstream never says. */
  estimatedInputTokens: number;
  /** max_tokens: what an answer nobody saw may have produced. */
  maxOutputTokens: number;
}

function failureMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Gives the reservation back and records a call that never got an upstream answer. */
async function recordUnanswered(settlement: Settlement, input: Pick<ResponseEventInput, 'status' | 'attempts' | 'error'> & { clientDisconnected?: boolean }): Promise<void> {
  const { admitted, context, reservation, stream } = settlement;
  await reservation.release();
  await recordInferenceResponse(admitted.record, {
    model: admitted.body.model,
    stream,
    route: admitted.route,
    target: null,
    completion: null,
    costMicrodollars: null,
    durationMs: performance.now() - context.startedAt,
    clientDisconnected: input.clientDisconnected ?? false,
    retentionDays: context.snapshot.config.audit.content_retention_days,
    status: input.status,
    attempts: input.attempts,
    error: input.error,
  });
}

/**
 * A call the client abandoned before the upstream's answer began: the upstream may have worked on
 * it, and what it produced is unknown, so it is billed as a call nobody saw end (the prompt
 * estimate and all of max_tokens, at the price the reservation was made with), marked estimated.
 */
async function recordAbandoned(settlement: Settlement, input: Pick<ResponseEventInput, 'status' | 'attempts' | 'error'> & { clientDisconnected: boolean }): Promise<void> {
  const { admitted, context, reservation, stream } = settlement;
  const usage = unseenCallUsage(settlement.estimatedInputTokens, settlement.maxOutputTokens);
  const cost = reservation.price ? costMicrodollars(usage, reservation.price) : null;
  const settled = await reservation.settle({ costMicrodollars: cost ?? 0, usage, usageEstimated: true, outcome: 'unknown', upstream: null });
  await recordInferenceResponse(admitted.record, {
    model: admitted.body.model,
    stream,
    route: admitted.route,
    target: null,
    completion: null,
    billedUsage: usage,
    usageEstimated: true,
    overBudget: settled.overCap.map((cap) => cap.rule),
    costMicrodollars: cost,
    durationMs: performance.now() - context.startedAt,
    clientDisconnected: true,
    retentionDays: context.snapshot.config.audit.content_retention_days,
    status: input.status,
    attempts: input.attempts,
    error: input.error,
  });
}

function isSuccess(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}

/**
 * What an answered call is billed: the upstream's usage, or the estimate from what it produced
 * (billedUsage). A non-streaming answer that broke after the upstream's 2xx showed nothing of what
 * was produced, so it is billed as a call nobody saw end: the prompt estimate and all of max_tokens.
 */
function billFor(settlement: Settlement, completion: CompletionSummary | null): BilledUsage {
  if (!settlement.stream && !completion?.usage && completion?.error) {
    return { usage: unseenCallUsage(settlement.estimatedInputTokens, settlement.maxOutputTokens), estimated: true };
  }
  return billedUsage(completion, settlement);
}

/**
 * After the answer: the cost of what the upstream reported, or of the estimate when it never did
 * (a call the upstream accepted is never free), the call's ledger entry with the reservation
 * settled to it, and the response event. An upstream refusal (non-2xx) bills nothing. Runs in the
 * background registry off the request path.
 */
async function finish(settlement: Settlement, result: DispatchResult): Promise<void> {
  const { admitted, context, reservation, request, stream } = settlement;
  let completion: CompletionSummary | null = null;
  let error: { type: string; message: string } | undefined;
  try {
    completion = await result.completion;
  } catch (failure) {
    error = { type: 'api_error', message: failureMessage(failure) };
  }
  const clientDisconnected = request.clientGone;
  let billed: BilledUsage | null = null;
  let cost: number | null = null;
  let settled: SettleResult | null = null;
  // The upstream's own status: a 2xx whose body then broke is answered 502/504 to the client but
  // was accepted (and possibly billed) upstream.
  if (isSuccess(result.attempts.at(-1)?.status ?? result.status)) {
    billed = billFor(settlement, completion);
    const price = priceBookFor(context.snapshot.config).priceFor(admitted.body.model, result.target);
    cost = price ? costMicrodollars(billed.usage, price) : null;
    settled = await reservation.settle({
      costMicrodollars: cost ?? 0,
      usage: billed.usage,
      usageEstimated: billed.estimated,
      outcome: callOutcome({ clientDisconnected, error, completion, status: result.status }),
      upstream: `${result.target.provider}/${result.target.model}`,
    });
  } else {
    await reservation.release();
  }
  await recordInferenceResponse(admitted.record, {
    model: admitted.body.model,
    stream,
    route: admitted.route,
    target: result.target,
    attempts: result.attempts,
    status: result.status,
    completion,
    billedUsage: billed?.usage ?? null,
    usageEstimated: billed?.estimated ?? false,
    overBudget: settled?.overCap.map((cap) => cap.rule) ?? [],
    costMicrodollars: cost,
    durationMs: performance.now() - context.startedAt,
    clientDisconnected,
    retentionDays: context.snapshot.config.audit.content_retention_days,
    error,
  });
}

/** Work after the answer, tracked so shutdown waits for it (and the reconciler covers a crash). */
function afterResponse(context: GatewayRequestContext, work: () => Promise<void>): void {
  runInBackground(`gateway: recording the response of trace ${context.headers.traceId}`, work);
}

export async function handleMessages(request: DataPlaneRequest, context: GatewayRequestContext): Promise<DataPlaneReply> {
  const preflighted = await preflight(request, context, { requireMaxTokens: true });
  if (preflighted instanceof Response) return preflighted;
  // The walk stays in this frame only (no closure below captures it): the estimate and the stored
  // form are taken from it once, and what lives on with the stream (the settlement) never holds it.
  const { prompt, ...admitted } = preflighted;
  const { caller, body, route, record } = admitted;
  const stream = body.stream === true;
  const estimatedInputTokens = prompt.estimatedInputTokens();
  const maxOutputTokens = body.max_tokens ?? 0;

  const admission = await gatewayLimits().admit({
    caller,
    callId: record.callId,
    model: body.model,
    estimatedInputTokens,
    maxOutputTokens,
    serverTools: serverToolAllowance(body),
    decision: route,
  });
  if (!admission.ok) {
    return deny(record, admission.response, {
      action: 'limits.admit',
      decision: 'deny',
      rule: admission.rule,
      reason: `refused by ${admission.rule}`,
      model: body.model,
      status: admission.response.status,
    });
  }
  const { reservation } = admission;
  const settlement: Settlement = { admitted, context, reservation, request, stream, estimatedInputTokens, maxOutputTokens };

  // The request's evidence is committed before any byte goes upstream: if it cannot be written,
  // the request does not happen.
  const [requestEvent, ...otherEvents] = await Promise.allSettled([
    recordInferenceRequest(record, {
      model: body.model,
      stream,
      maxTokens: body.max_tokens,
      temperature: body.temperature,
      route,
      mappedFrom: admitted.mappedFrom,
      decision: admitted.redactions.length
        ? { decision: 'redact', rule: admitted.redactions.map((r) => `policy.secrets.${r.rule}`).join(', ').slice(0, 200) }
        : { decision: 'allow' },
      prompt: prompt.document(),
      retentionDays: context.snapshot.config.audit.content_retention_days,
      tags: admitted.tags,
      estimatedInputTokens,
      expectedOutputTokens: maxOutputTokens,
      estimatedCostMicrodollars: reservation.price ? costMicrodollars(unseenCallUsage(estimatedInputTokens, maxOutputTokens), reservation.price) : null,
      reservedMicrodollars: reservation.worstCaseMicrodollars,
      requestBytes: admitted.bytes,
    }),
    ...redactionEvents(admitted),
  ]);
  const unrecorded = [requestEvent, ...otherEvents].find((outcome) => outcome.status === 'rejected');
  if (unrecorded) {
    const error: unknown = unrecorded.reason;
    console.error(`gateway: recording request ${caller.traceId} failed, refusing it: ${failureMessage(error)}`);
    const response = knownErrorResponse(error) ?? anthropicError('api_error', 'Gatehouse could not record this request in its audit trail, so it was not sent; try again shortly');
    if (requestEvent.status === 'fulfilled') {
      // Its request event is committed: closed now, billing nothing, or the reconciler would
      // bill it at the estimate as a call that went upstream.
      afterResponse(context, () => recordUnanswered(settlement, { status: response.status, attempts: [], error: { type: 'api_error', message: `not sent: ${failureMessage(error)}` } }));
    } else {
      await reservation.release();
    }
    return response;
  }

  let result: DispatchResult;
  try {
    result = await dispatch({ body, stream, headers: request.headers, decision: route, caller, signal: request.signal });
  } catch (error) {
    if (error instanceof UpstreamUnavailableError) {
      const response = error.overloaded
        ? anthropicError('overloaded_error', `the upstreams serving ${body.model} are overloaded; try again shortly`)
        : anthropicError('api_error', `no upstream could serve ${body.model} right now; try again shortly`);
      afterResponse(context, () =>
        recordUnanswered(settlement, { status: response.status, attempts: error.attempts, error: { type: response.status === 529 ? 'overloaded_error' : 'api_error', message: error.message } }),
      );
      return response;
    }
    const clientDisconnected = request.clientGone;
    const failure = {
      // 499: the client closed the request (no HTTP status exists for it; nginx's convention).
      status: clientDisconnected ? 499 : 500,
      attempts: [],
      clientDisconnected,
      error: { type: clientDisconnected ? 'client_disconnected' : 'api_error', message: failureMessage(error) },
    };
    // A client that leaves while the upstream works on its request left a call nobody saw end:
    // billed the estimate like one, or leaving just before the answer would make every call free.
    afterResponse(context, () => (clientDisconnected ? recordAbandoned(settlement, failure) : recordUnanswered(settlement, failure)));
    if (!clientDisconnected) console.error(`gateway: dispatch of ${caller.traceId} failed: ${failureMessage(error)}`);
    return anthropicError('api_error', 'Gatehouse failed to reach an upstream for this request');
  }

  afterResponse(context, () => finish(settlement, result));
  const headers = headerRecord(result.headers);
  if (result.status >= 200 && result.status < 300) admission.headers.forEach((value, name) => (headers[name] = value));
  return new DirectReply(result.status, headers, result.body);
}
