// Durable evidence of every gateway call: policy decisions, the request event (committed before
// anything goes upstream) and the response event, all with the call's trace id; prompts and
// completions in the content store under the configured retention, each committed in one
// transaction with its event. Every event here is built from values checked where they came in
// (token claims, canonical headers, the routed model), so the writer skips the schema's parse on
// this hot path (AppendOptions.built; the tests still run every one through the schema).
import { v7 as uuidv7 } from 'uuid';
import {
  appendAuditEvent,
  AuditWriteError,
  countAuditEvent,
  prepareContent,
  prepareSerialisedManifest,
  type AuditEventInput,
  type PreparedContent,
  type PreparedDocument,
  type SerialisedDocument,
} from '@/lib/audit';
import type { AttemptRecord, CompletionSummary, GatewayCaller, RouteDecision, UpstreamTarget, Usage } from '@/lib/gateway/contracts';
import { clientIp, userAgent } from '@/lib/http/client-ip';
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import { readSignedAccessToken, type AccessTokenClaims, type AccessTokenError, type AccessTokenFailure } from '@/lib/tokens';
import { primaryTenantId } from '@/lib/users/tenant';

type Attributes = Record<string, string | number | boolean>;

/** What every event of one call shares: who, which call, under which policy, from where. */
export interface CallRecord {
  /**
   * Names this one call (clients may reuse x-trace-id): the inference.request event's event_id,
   * the `call_id` attribute of its request, response and policy-decision events (not of counted
   * ones, which stand for many calls), and the key of its spend_entries row.
   */
  callId: string;
  caller: GatewayCaller;
  /** The policy version the client said it had (x-policy-version), when it said one. */
  clientPolicyVersion: string | null;
  ip: string | undefined;
  userAgent: string | undefined;
}

export function callRecord(caller: GatewayCaller, request: Pick<DataPlaneRequest, 'headers'>, clientPolicyVersion: string | null): CallRecord {
  return { callId: uuidv7(), caller, clientPolicyVersion, ip: clientIp(request), userAgent: userAgent(request) };
}

/** What every event of the call carries (who, trace, session, client, origin); other modules add their own blocks. */
export function callEventBase(record: CallRecord): AuditEventInput & { attributes: Attributes } {
  const { caller } = record;
  const { principal } = caller;
  // `attributes` is always there while the event is built; empty ones are dropped in sealCallEvent().
  const event: AuditEventInput & { attributes: Attributes } = {
    tenant_id: principal.tenantId,
    event_type: 'inference.request',
    action: 'messages.create',
    outcome: 'success',
    trace_id: caller.traceId,
    actor: { user_id: principal.userId, email: principal.email, roles: principal.roles },
    client_id: caller.clientId,
    policy_version: caller.policyVersion,
    attributes: {},
  };
  if (principal.department) event.actor!.department = principal.department;
  if (caller.sessionId) event.session_id = caller.sessionId;
  if (caller.callSource) event.call_source = caller.callSource;
  if (record.ip || record.userAgent) event.origin = { ...(record.ip ? { ip: record.ip } : {}), ...(record.userAgent ? { user_agent: record.userAgent } : {}) };
  // Both versions are kept: a client a reload behind is normal, and worth seeing.
  if (record.clientPolicyVersion) event.attributes.client_policy_version = record.clientPolicyVersion;
  return event;
}

/** The event as appended: without an empty attributes block. */
export function sealCallEvent(event: AuditEventInput & { attributes: Attributes }): AuditEventInput {
  const { attributes, ...rest } = event;
  return Object.keys(attributes).length ? { ...rest, attributes } : rest;
}

export interface PolicyDecisionInput {
  /** What was being decided, e.g. `identity.check`, `inference.authorize`, `content.inspect`, `limits.admit`. */
  action: string;
  decision: 'deny' | 'block' | 'redact';
  rule: string;
  reason: string;
  model?: string;
  /** The HTTP status the client got, when the request was refused. */
  status?: number;
  attributes?: Attributes;
}

function policyDecisionEvent(record: CallRecord, input: PolicyDecisionInput): AuditEventInput {
  const event = callEventBase(record);
  event.event_type = 'policy.decision';
  event.action = input.action;
  // A redaction let the request through; everything else refused it.
  event.outcome = input.decision === 'redact' ? 'success' : 'denied';
  event.policy = { decision: input.decision, rule: input.rule, reason: input.reason.slice(0, 2000) };
  if (input.model) event.gen_ai = { operation: 'chat', provider: 'gatehouse', request_model: input.model.slice(0, 200) };
  if (input.status !== undefined) event.error = { type: 'policy_denied', status: input.status };
  Object.assign(event.attributes, input.attributes);
  return sealCallEvent(event);
}

/** A `policy.decision` event of this call (its call id attached); resolves once committed. */
export async function recordPolicyDecision(record: CallRecord, input: PolicyDecisionInput): Promise<void> {
  await appendAuditEvent(policyDecisionEvent(record, { ...input, attributes: { ...input.attributes, call_id: record.callId } }), { built: true });
}

/**
 * A refusal a client may repeat in a loop (an unknown model, a rate limit on a free endpoint):
 * counted per user, rule and minute and written as one `policy.decision` event with the count,
 * the first occurrence's trace id and a tally of `tally`'s values (see lib/audit/counted.ts).
 */
export function countPolicyDecision(record: CallRecord, input: PolicyDecisionInput, tally: Record<string, string> = {}): void {
  const { principal } = record.caller;
  countAuditEvent({ key: `policy.decision\u0000${principal.tenantId}\u0000${input.rule}\u0000${principal.userId}`, event: policyDecisionEvent(record, input), tally });
}

/** Token failures where the signature held, so the token's claims may name who it was. */
const SIGNED_FAILURES = new Set<AccessTokenFailure>(['expired', 'wrong_audience', 'revoked', 'user_disabled']);

async function signedClaims(token: string | null, error: AccessTokenError): Promise<AccessTokenClaims | null> {
  if (!token || !SIGNED_FAILURES.has(error.reason)) return null;
  return readSignedAccessToken(token).catch(() => null);
}

/**
 * A refused access token, counted per user (when the signature held and the token names one) or
 * per client address, and per minute: a client retrying with a dead token in a loop becomes one
 * `policy.decision` event a minute with the count and a tally of the reasons and endpoints.
 * Never rejects: the 401 goes out whatever happens here.
 */
export async function countRejectedToken(request: Pick<DataPlaneRequest, 'headers' | 'path'>, token: string | null, error: AccessTokenError, traceId: string): Promise<void> {
  try {
    const claims = await signedClaims(token, error);
    const tenantId = claims?.tenant ?? (await primaryTenantId());
    const ip = clientIp(request);
    const agent = userAgent(request);
    const event: AuditEventInput = {
      tenant_id: tenantId,
      event_type: 'policy.decision',
      action: 'identity.authenticate',
      outcome: 'denied',
      trace_id: traceId,
      policy: { decision: 'deny', rule: 'auth.access_token', reason: 'the access token was refused' },
      error: { type: 'authentication_error', status: 401 },
    };
    if (claims) {
      event.actor = { user_id: claims.sub, email: claims.email, roles: claims.roles, ...(claims.department ? { department: claims.department } : {}) };
      event.client_id = claims.client_id;
    }
    if (ip || agent) event.origin = { ...(ip ? { ip } : {}), ...(agent ? { user_agent: agent } : {}) };
    const subject = claims ? `user:${claims.sub}` : `ip:${ip ?? 'unknown'}`;
    countAuditEvent({ key: `identity.authenticate\u0000${tenantId}\u0000${subject}`, event, tally: { reason: error.reason, endpoint: request.path.slice(0, 100) } });
  } catch (failure) {
    console.error(`gateway: counting a refused token failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

/** Content prepared for storage, or why it cannot be stored (a row over 16 MiB). */
function prepared<T>(prepare: () => T): { ok: true; value: T } | { ok: false; reason: string } {
  try {
    return { ok: true, value: prepare() };
  } catch (error) {
    return { ok: false, reason: (error instanceof Error ? error.message : String(error)).slice(0, 4000) };
  }
}

export interface RequestEventInput {
  model: string;
  stream: boolean;
  maxTokens: number | undefined;
  temperature: unknown;
  route: RouteDecision;
  /** The id the client asked for, when gateway.map_unknown_claude_models served it as `model`. */
  mappedFrom?: string | null;
  decision: { decision: 'allow' | 'redact'; rule?: string; reason?: string };
  /**
   * The request body as it goes upstream (redactions applied, tags removed), serialised as the
   * content store keeps it: each message a row of its own (linked to the one before it), the
   * system prompt and the tool list one row each, so the history a conversation resends every
   * turn is stored once per tenant (lib/audit/manifest.ts); rows the gateway already hashed come
   * with their digests (lib/gateway/policy/prompt.ts).
   */
  prompt: SerialisedDocument;
  retentionDays: number;
  tags: Record<string, string>;
  estimatedInputTokens: number;
  requestBytes: number;
  /**
   * What the call is billed if its end is never seen (the reconciler's figures): the output it
   * may produce (max_tokens), the cost of the prompt estimate plus that output, and the
   * reservation held against budgets. Costs are null when nothing prices the model.
   */
  expectedOutputTokens: number;
  estimatedCostMicrodollars: number | null;
  reservedMicrodollars: number;
}

function targetName(target: UpstreamTarget): string {
  return `${target.provider}/${target.model}`;
}

/**
 * The `inference.request` event and the prompt in the content store, committed in one
 * transaction; resolves only once both are, so nothing reaches an upstream without its
 * evidence, and a failure leaves neither (the caller refuses the request).
 */
export async function recordInferenceRequest(record: CallRecord, input: RequestEventInput): Promise<void> {
  const event = callEventBase(record);
  event.event_id = record.callId;
  event.attributes.call_id = record.callId;
  event.gen_ai = {
    operation: 'chat',
    provider: input.route.targets[0]?.provider ?? 'none',
    request_model: input.model.slice(0, 200),
    stream: input.stream,
  };
  if (input.maxTokens !== undefined) event.gen_ai.max_tokens = input.maxTokens;
  if (typeof input.temperature === 'number' && input.temperature >= 0 && input.temperature <= 2) event.gen_ai.temperature = input.temperature;
  event.policy = { decision: input.decision.decision, ...(input.decision.rule ? { rule: input.decision.rule } : {}), ...(input.decision.reason ? { reason: input.decision.reason } : {}) };
  Object.assign(event.attributes, {
    route: input.route.routeName,
    'route.targets': input.route.targets.map(targetName).join(', ').slice(0, 4000),
    estimated_input_tokens: input.estimatedInputTokens,
    expected_output_tokens: input.expectedOutputTokens,
    reserved_microdollars: input.reservedMicrodollars,
    request_bytes: input.requestBytes,
  });
  if (input.estimatedCostMicrodollars !== null) event.attributes.estimated_cost_microdollars = input.estimatedCostMicrodollars;
  if (input.mappedFrom) {
    // gen_ai.request_model is the served id (limits, prices and access are its); both are named here.
    event.attributes.requested_model = input.mappedFrom.slice(0, 200);
    event.attributes.served_model = input.model.slice(0, 200);
    event.attributes.model_mapping = 'gateway.map_unknown_claude_models';
  }
  for (const [name, value] of Object.entries(input.tags)) event.attributes[`tags.${name}`] = value;

  const prompt = prepared<PreparedDocument>(() =>
    prepareSerialisedManifest({ tenant_id: record.caller.principal.tenantId, kind: 'prompt', retention_days: input.retentionDays }, input.prompt),
  );
  if (prompt.ok) {
    event.content_refs = [prompt.value.ref];
  } else {
    event.attributes.prompt_not_stored = true;
    event.attributes.prompt_not_stored_reason = prompt.reason;
  }
  await appendAuditEvent(sealCallEvent(event), { content: prompt.ok ? prompt.value.content : [], built: true });
}

export interface ResponseEventInput {
  model: string;
  stream: boolean;
  route: RouteDecision;
  /** The answering target; null when no upstream answered. */
  target: UpstreamTarget | null;
  attempts: readonly AttemptRecord[];
  /** HTTP status the client got. */
  status: number;
  completion: CompletionSummary | null;
  /** The usage billed (the upstream's report, or the estimate when `usageEstimated`); null when nothing was billed. */
  billedUsage?: Usage | null;
  usageEstimated?: boolean;
  /** Budget rules this call's cost took past their cap. */
  overBudget?: string[];
  costMicrodollars: number | null;
  durationMs: number;
  clientDisconnected: boolean;
  /** A failure the gateway itself saw (no upstream, the relay failed). */
  error?: { type: string; message: string };
  retentionDays: number;
}

function usageFields(usage: Usage | null): Partial<Record<'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens', number>> {
  if (!usage) return {};
  return {
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cache_read_input_tokens: usage.cache_read_input_tokens,
    cache_creation_input_tokens: usage.cache_creation_input_tokens,
  };
}

function describeAttempts(attempts: readonly AttemptRecord[]): string {
  return attempts.map((a) => `${a.provider}/${a.model}:${a.outcome}${a.status ? `:${a.status}` : ''}:${a.durationMs}ms`).join(', ').slice(0, 4000);
}

/** How a call ended, as its response event and its ledger entry say. */
export function callOutcome(input: Pick<ResponseEventInput, 'clientDisconnected' | 'error' | 'completion' | 'status'>): 'success' | 'failure' | 'unknown' {
  // The client left before the end: what it received is unknown to us.
  if (input.clientDisconnected) return 'unknown';
  if (input.error || input.completion?.error || input.status >= 400) return 'failure';
  return 'success';
}

/**
 * The `inference.response` event and the completion's content, committed in one transaction;
 * resolves once committed. Nobody waits on it (the answer went out), so it is deferred: it rides
 * in the next call's request-event commit, or commits on its own a moment later. Should the
 * database refuse the content, the event is recorded without it (marked completion_not_stored):
 * the answer has happened, its record must not be lost.
 */
export async function recordInferenceResponse(record: CallRecord, input: ResponseEventInput): Promise<void> {
  const event = callEventBase(record);
  event.event_type = 'inference.response';
  event.attributes.call_id = record.callId;
  event.outcome = callOutcome(input);
  const completion = input.completion;
  event.gen_ai = {
    operation: 'chat',
    provider: input.target?.provider ?? 'none',
    request_model: input.model.slice(0, 200),
    stream: input.stream,
    duration_ms: Math.max(0, Math.round(input.durationMs)),
    ...usageFields(input.billedUsage ?? completion?.usage ?? null),
  };
  if (completion?.responseModel) event.gen_ai.response_model = completion.responseModel.slice(0, 200);
  if (completion?.responseId) event.gen_ai.response_id = completion.responseId.slice(0, 200);
  if (completion?.stopReason) event.gen_ai.finish_reasons = [completion.stopReason.slice(0, 100)];
  if (completion?.timeToFirstByteMs !== null && completion?.timeToFirstByteMs !== undefined) event.gen_ai.time_to_first_chunk_ms = Math.max(0, Math.round(completion.timeToFirstByteMs));
  if (input.costMicrodollars !== null) event.cost = { microdollars: input.costMicrodollars };
  const error = input.error ?? completion?.error;
  if (error) event.error = { type: error.type.slice(0, 200), message: error.message.slice(0, 4000), status: input.status };
  else if (input.status >= 400) event.error = { type: 'upstream_error', status: input.status };
  Object.assign(event.attributes, {
    route: input.route.routeName,
    status: input.status,
    attempts: describeAttempts(input.attempts),
    failover: input.attempts.length > 1,
  });
  if (input.target) event.attributes.upstream = targetName(input.target);
  if (input.clientDisconnected) event.attributes.client_disconnected = true;
  if (input.usageEstimated) event.attributes.usage_estimated = true;
  const searches = input.billedUsage?.server_tool_use?.web_search_requests;
  if (searches) event.attributes.web_search_requests = searches;
  if (input.overBudget?.length) event.attributes.over_budget = input.overBudget.join(', ');

  let content: PreparedContent[] = [];
  if (completion && completion.content.length > 0) {
    const stored = prepared(() =>
      prepareContent({ tenant_id: record.caller.principal.tenantId, kind: 'completion', body: completion.content, retention_days: input.retentionDays }),
    );
    if (stored.ok) {
      event.content_refs = [stored.value.ref];
      content = [stored.value];
    } else {
      event.attributes.completion_not_stored = true;
      event.attributes.completion_not_stored_reason = stored.reason;
    }
  }
  try {
    await appendAuditEvent(sealCallEvent(event), { content, built: true, deferred: true });
  } catch (error) {
    // Only a definite refusal: after a lost connection the first write may have committed.
    if (content.length === 0 || !(error instanceof AuditWriteError) || !error.refusedByDatabase) throw error;
    delete event.content_refs;
    event.attributes.completion_not_stored = true;
    event.attributes.completion_not_stored_reason = error.message.slice(0, 4000);
    await appendAuditEvent(sealCallEvent(event), { built: true, deferred: true });
  }
}
export { recordReconciledResponse, type ReconciledResponse } from './reconciled';
