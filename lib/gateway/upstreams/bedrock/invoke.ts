/**
 * Claude on Bedrock through InvokeModel / InvokeModelWithResponseStream, with the native Anthropic
 * body: `POST {base}/model/{model id or inference-profile ARN}/invoke` (or
 * `/invoke-with-response-stream`). The body is the client's minus `model` and `stream` (Bedrock
 * refuses extra inputs) and `tags`, plus `anthropic_version: bedrock-2023-05-31`, with the
 * accepted `anthropic-beta` flags moved into `anthropic_beta`. `cache_control` stays: Bedrock
 * caches prompts for Claude. The stream comes back as event-stream frames, each `chunk` carrying
 * one Anthropic event (base64 JSON), re-emitted as Anthropic SSE.
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { TranslationError, type PreparedRequest, type StreamFacts, type UpstreamAdapter, type UpstreamBody } from '../adapter';
import { acceptedBetas } from '../betas';
import { applyProviderHeaders } from '../headers';
import { errorFrame, sseBytes } from '../sse';
import { eventStreamFrames, exceptionError } from './event-stream';
import { authorizeBedrock } from './signing';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/** Fields of an Anthropic request that InvokeModel refuses or that only mean something to us. */
const LEFT_OUT = new Set(['model', 'stream', 'tags', 'anthropic_version', 'anthropic_beta']);

export function bedrockModelUrl(target: UpstreamTarget, action: string): string {
  return `${target.baseUrl.replace(/\/+$/, '')}/model/${encodeURIComponent(target.model)}/${action}`;
}

/** The InvokeModel body of an Anthropic request (CountTokens wraps the same body). */
export function invokeBody(input: DispatchInput, target: UpstreamTarget): Record<string, unknown> {
  const body: Record<string, unknown> = { anthropic_version: BEDROCK_ANTHROPIC_VERSION };
  for (const [key, value] of Object.entries(input.body)) if (!LEFT_OUT.has(key)) body[key] = value;
  const fromBody = Array.isArray(input.body.anthropic_beta) ? input.body.anthropic_beta.filter((flag): flag is string => typeof flag === 'string') : [];
  const betas = acceptedBetas(target, [input.headers.get('anthropic-beta'), ...fromBody].filter(Boolean).join(','));
  if (betas.length > 0) body.anthropic_beta = betas;
  return body;
}

async function prepareMessages(input: DispatchInput, target: UpstreamTarget): Promise<PreparedRequest> {
  if (!target.region) throw new TranslationError(`provider ${target.provider} has no region`);
  const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json' });
  applyProviderHeaders(headers, target, input.caller);
  const url = bedrockModelUrl(target, input.stream ? 'invoke-with-response-stream' : 'invoke');
  return authorizeBedrock({ url, headers, body: JSON.stringify(invokeBody(input, target)) }, target);
}

function decodeChunk(payload: Record<string, unknown>): Record<string, unknown> | null {
  if (typeof payload.bytes !== 'string') return null;
  const event: unknown = JSON.parse(Buffer.from(payload.bytes, 'base64').toString('utf8'));
  return typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : null;
}

/** Anthropic SSE from Bedrock's event-stream: one SSE event per `chunk` frame, exceptions as `event: error`. */
async function* translateStream(body: UpstreamBody, input: DispatchInput, _facts: StreamFacts, target: UpstreamTarget): AsyncGenerator<Uint8Array> {
  for await (const frames of eventStreamFrames(body)) {
    if (frames.length === 0) yield new Uint8Array(0);
    for (const frame of frames) {
      if (frame.kind === 'exception') {
        const error = exceptionError(frame, target.provider, input.caller.traceId);
        yield errorFrame(error.type, error.message);
        return;
      }
      if (frame.type !== 'chunk') continue;
      const event = decodeChunk(frame.payload);
      if (!event || typeof event.type !== 'string') continue;
      // Bedrock's latency and token metrics ride on message_stop; the usage is already in message_delta.
      delete event['amazon-bedrock-invocationMetrics'];
      yield sseBytes(event.type, event);
    }
  }
}


/**
 * Bedrock CountTokens: `POST {base}/model/{id}/count-tokens` with the InvokeModel body (base64)
 * under `input.invokeModel.body`. That body needs a `max_tokens` above any thinking budget and no
 * empty `tools`; only foundation-model ids are accepted, so application inference profiles
 * (whose ARN does not name the model) are not counted here.
 */
async function prepareCountTokens(input: DispatchInput, target: UpstreamTarget): Promise<PreparedRequest | null> {
  if (!target.region || target.model.includes(':application-inference-profile/')) return null;
  const body = invokeBody(input, target);
  const thinking = body.thinking as { budget_tokens?: unknown } | undefined;
  const budget = typeof thinking?.budget_tokens === 'number' ? thinking.budget_tokens : 0;
  body.max_tokens = Math.max(typeof body.max_tokens === 'number' ? body.max_tokens : 0, budget + 1024);
  if (Array.isArray(body.tools) && body.tools.length === 0) delete body.tools;
  const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json' });
  applyProviderHeaders(headers, target, input.caller);
  const wrapped = { input: { invokeModel: { body: Buffer.from(JSON.stringify(body)).toString('base64') } } };
  return authorizeBedrock({ url: bedrockModelUrl(target, 'count-tokens'), headers, body: JSON.stringify(wrapped) }, target);
}

function translateCountTokens(raw: Uint8Array): Uint8Array {
  const parsed = JSON.parse(new TextDecoder().decode(raw)) as { inputTokens?: unknown };
  if (typeof parsed.inputTokens !== 'number') throw new Error('Bedrock CountTokens answered without inputTokens');
  return new TextEncoder().encode(JSON.stringify({ input_tokens: parsed.inputTokens }));
}

export const bedrockCountTokens = { prepare: prepareCountTokens, translate: translateCountTokens };

export const bedrockInvokeAdapter: UpstreamAdapter = {
  prepareMessages,
  translateMessage: (body) => ({ bytes: body, facts: { usageReported: true } }),
  translateStream,
  countTokens: bedrockCountTokens,
};
