/**
 * Sends a Messages request to the route's targets: primary first, each with its circuit breaker
 * and retries (exponential backoff with jitter, `retry-after` honoured up to a cap), then the next
 * target. All of it happens before the upstream answers 2xx: from then on the answer is the
 * client's, however slow (no retry can bill it twice, and a slow upstream never trips its
 * circuit), and a later failure ends it with an `event: error` (stream) or a 502/504 (JSON).
 */
import { UpstreamUnavailableError, type AttemptRecord, type CompletionSummary, type DispatchInput, type DispatchResult, type UpstreamTarget } from '@/lib/gateway/contracts';
import { anthropicError, anthropicErrorPayload } from '@/lib/gateway/errors';
import type { ProviderType } from '@/lib/config';
import { CredentialError, TranslationError, type UpstreamAdapter } from './adapter';
import { anthropicAdapter } from './anthropic/adapter';
import { bedrockAdapter } from './bedrock/adapter';
import { foundryAdapter } from './foundry/adapter';
import { geminiAdapter } from './gemini/adapter';
import { vertexAdapter } from './vertex/adapter';
import { attemptMessages, callUpstream, classifyErrorResponse, UpstreamCallFailed, type AttemptResult } from './attempt';
import { admit, reportFailure, reportNeutral, reportSuccess } from './circuit-breaker';
import { openAIAdapter } from './openai/adapter';
import { withRemoteImages } from './remote-images';
import { backoffMs, sleep } from './retry';
import { readBodyWithIdleLimit, UpstreamBodyError } from './read-body';
import { deadlinesFor, upstreamTuning } from './tuning';
import { clientErrorResponse, type ClientError } from './upstream-errors';

/** Every provider type's adapter (Azure OpenAI, Groq and self-hosted servers share the OpenAI one). */
const ADAPTERS: Record<ProviderType, UpstreamAdapter> = {
  anthropic: anthropicAdapter,
  bedrock: bedrockAdapter,
  vertex: vertexAdapter,
  gemini: geminiAdapter,
  foundry: foundryAdapter,
  openai: openAIAdapter,
  groq: openAIAdapter,
  azure: openAIAdapter,
  openai_compatible: openAIAdapter,
};

type Failure = Extract<AttemptResult, { kind: 'failed' }>;

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}

function record(target: UpstreamTarget, outcome: AttemptRecord['outcome'], since: number, status?: number): AttemptRecord {
  const attempt: AttemptRecord = { provider: target.provider, model: target.model, outcome, durationMs: elapsed(since) };
  if (status !== undefined) attempt.status = status;
  return attempt;
}

/** The wait before retrying the same target, or null when it is better to move on. */
function retryDelay(failure: Failure, retry: number): number | null {
  if (failure.retryAfterMs === null) return backoffMs(retry);
  return failure.retryAfterMs <= upstreamTuning().retryAfterCapMs ? failure.retryAfterMs : null;
}

function rejectedResult(target: UpstreamTarget, attempts: AttemptRecord[], error: ClientError): DispatchResult {
  const completion: CompletionSummary = {
    usage: null,
    stopReason: null,
    responseModel: null,
    responseId: null,
    content: [],
    error: { type: error.type, message: error.message },
    timeToFirstByteMs: null,
  };
  return { target, attempts, status: error.status, ...anthropicErrorPayload(error.type, error.message), completion: Promise.resolve(completion) };
}

/** The input as this target gets it (remote images resolved by its provider's setting), or why it cannot. */
async function inputFor(input: DispatchInput, target: UpstreamTarget): Promise<DispatchInput | TranslationError> {
  try {
    return await withRemoteImages(input, target);
  } catch (error) {
    if (error instanceof TranslationError) return error;
    throw error;
  }
}

function refusedBeforeSending(target: UpstreamTarget, attempts: AttemptRecord[], error: TranslationError): DispatchResult {
  attempts.push(record(target, 'client_error', performance.now(), 400));
  return rejectedResult(target, attempts, { status: 400, type: 'invalid_request_error', message: error.message });
}

function unavailable(requestedModel: string, attempts: AttemptRecord[], overloaded: boolean): UpstreamUnavailableError {
  const tried = attempts.map((attempt) => `${attempt.provider}/${attempt.model}: ${attempt.outcome}${attempt.status ? ` ${attempt.status}` : ''}`).join(', ');
  return new UpstreamUnavailableError(`no upstream could serve ${requestedModel}${tried ? ` (${tried})` : ''}`, attempts, overloaded);
}

/**
 * Resolves with the first committed answer (or an upstream's refusal of the request, as an
 * Anthropic error). Throws UpstreamUnavailableError when every target failed, and the client's
 * abort reason when the client went away first.
 */
export async function dispatch(input: DispatchInput): Promise<DispatchResult> {
  const startedAt = performance.now();
  const attempts: AttemptRecord[] = [];
  let lastFailure: Failure | null = null;

  for (const target of input.decision.targets) {
    const adapter = ADAPTERS[target.providerType];
    const targetInput = await inputFor(input, target);
    if (targetInput instanceof TranslationError) return refusedBeforeSending(target, attempts, targetInput);
    const maxRetries = target.maxRetries ?? upstreamTuning().defaultMaxRetries;
    for (let retry = 0; ; retry += 1) {
      const since = performance.now();
      if (admit(target) === 'rejected') {
        attempts.push(record(target, 'circuit_open', since));
        break;
      }
      let result: AttemptResult;
      try {
        result = await attemptMessages(targetInput, target, adapter, startedAt);
      } catch (error) {
        reportNeutral(target);
        throw error;
      }
      if (result.kind === 'committed') {
        // A 2xx: the upstream is alive, however slowly its body then comes (or if it then breaks).
        reportSuccess(target);
        attempts.push(record(target, result.failedAfterHeaders ?? 'success', since, result.upstreamStatus));
        return { target, attempts, status: result.status, headers: result.headers, body: result.body, completion: result.completion };
      }
      if (result.kind === 'rejected') {
        reportSuccess(target); // it answered sensibly: the upstream is healthy
        attempts.push(record(target, 'client_error', since, result.error.status));
        return rejectedResult(target, attempts, result.error);
      }
      reportFailure(target);
      attempts.push(record(target, result.outcome, since, result.status));
      lastFailure = result;
      if (!result.retryable || retry >= maxRetries) break;
      const delay = retryDelay(result, retry);
      if (delay === null) break;
      await sleep(delay, input.signal);
    }
  }
  throw unavailable(input.decision.requestedModel, attempts, lastFailure?.overloaded ?? false);
}

const NOT_SUPPORTED = 'count_tokens is not available for this model: its upstream cannot count tokens';

/** The route's targets that can count tokens, each with the request that asks it to. */
async function countingTargets(input: DispatchInput): Promise<{ target: UpstreamTarget; count: NonNullable<UpstreamAdapter['countTokens']> }[]> {
  const found = [];
  for (const target of input.decision.targets) {
    const count = ADAPTERS[target.providerType].countTokens;
    if (count) found.push({ target, count });
  }
  return found;
}

/**
 * POST /v1/messages/count_tokens: sent to the route's targets that can count (Anthropic, Bedrock
 * CountTokens…) in order; a route without one answers 501 not_supported with x-should-retry: false
 * (Claude Code then counts another way). Throws UpstreamUnavailableError when every one failed.
 */
export async function dispatchCountTokens(input: DispatchInput): Promise<Response> {
  const targets = await countingTargets(input);
  const attempts: AttemptRecord[] = [];
  let overloaded = false;
  let asked = 0;
  for (const { target, count } of targets) {
    const since = performance.now();
    if (admit(target) === 'rejected') {
      attempts.push(record(target, 'circuit_open', since));
      continue;
    }
    const targetInput = await inputFor(input, target);
    if (targetInput instanceof TranslationError) return clientErrorResponse({ status: 400, type: 'invalid_request_error', message: targetInput.message });
    let prepared;
    try {
      prepared = await count.prepare(targetInput, target);
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      upstreamTuning().logger.warn('upstream credential unavailable', { provider: target.provider, trace_id: input.caller.traceId, reason: error.message });
      attempts.push(record(target, 'client_error', since));
      asked += 1;
      continue;
    }
    if (prepared === null) continue;
    asked += 1;
    const { headersMs, idleMs } = deadlinesFor(target, false);
    let call;
    try {
      call = await callUpstream(prepared, input.signal, headersMs);
    } catch (error) {
      if (input.signal.aborted) {
        reportNeutral(target);
        throw error;
      }
      reportFailure(target);
      attempts.push(record(target, error instanceof UpstreamCallFailed && error.timedOut ? 'timeout' : 'connect_error', since));
      continue;
    }
    try {
      const { response } = call;
      if (response.ok) {
        // Answered 2xx: the count is this target's, read to its end or reported as broken (not failed over).
        reportSuccess(target);
        try {
          return new Response(new Uint8Array(count.translate(await readBodyWithIdleLimit(response.body, idleMs))), { status: response.status, headers: { 'content-type': 'application/json' } });
        } catch (error) {
          if (input.signal.aborted) throw input.signal.reason;
          const timedOut = error instanceof UpstreamBodyError && error.timedOut;
          return anthropicError('api_error', `the upstream stopped sending its token count${timedOut ? `: ${(error as Error).message}` : ''}`, { status: timedOut ? 504 : 502 });
        }
      }
      const result = await classifyErrorResponse(target, response, input.caller.traceId);
      if (result.kind === 'rejected') {
        reportSuccess(target);
        return clientErrorResponse(result.error);
      }
      if (result.kind === 'failed') {
        reportFailure(target);
        overloaded = result.overloaded;
        attempts.push(record(target, result.outcome, since, result.status));
      }
    } finally {
      call.cancel();
    }
  }
  if (asked === 0) return anthropicError('not_supported', NOT_SUPPORTED, { headers: { 'x-should-retry': 'false' } });
  throw unavailable(input.decision.requestedModel, attempts, overloaded);
}
