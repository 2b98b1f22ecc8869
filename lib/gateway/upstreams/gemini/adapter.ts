/**
 * Gemini models, wherever they are served: `type: gemini` (the Gemini API, AI Studio key in
 * `x-goog-api-key`) here, and Vertex AI's publishers/google models (vertex/adapter.ts) with the
 * same translation (request.ts, response.ts) and their own URL and credential.
 *   POST {base}/v1beta/models/{model}:generateContent
 *   POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse
 */
import { createParser } from 'eventsource-parser';
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import { chunksOf, CredentialError, type PreparedRequest, type StreamFacts, type UpstreamAdapter, type UpstreamBody } from '../adapter';
import { applyProviderHeaders, upstreamApiKey } from '../headers';
import { upstreamTuning } from '../tuning';
import { translateGeminiRequest } from './request';
import { GeminiStreamTranslator, translateGeminiMessage } from './response';

const encoder = new TextEncoder();

/** `{base}/{version}/{path}`, unless base_url already ends in a version segment. */
export function versionedUrl(baseUrl: string, version: string, path: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return /\/v1(beta\d*)?$/.test(base) ? `${base}/${path}` : `${base}/${version}/${path}`;
}

/** The method suffix of a Gemini model URL for this request. */
export function generateMethod(stream: boolean): string {
  return stream ? ':streamGenerateContent?alt=sse' : ':generateContent';
}

/** Gemini SSE (one GenerateContentResponse per event, no [DONE]) → Anthropic SSE. */
export async function* translateGeminiStream(body: UpstreamBody, input: DispatchInput, facts: StreamFacts): AsyncGenerator<Uint8Array> {
  const translator = new GeminiStreamTranslator(input.decision.requestedModel);
  const decoder = new TextDecoder();
  let frames: string[] = [];
  const parser = createParser({
    onEvent(event) {
      try {
        frames.push(...translator.push(JSON.parse(event.data)));
      } catch {
        upstreamTuning().logger.warn('unparseable chunk in a Gemini stream was skipped');
      }
    },
  });
  const flush = () => {
    const bytes = encoder.encode(frames.join(''));
    frames = [];
    facts.usageReported = translator.usageReported;
    return bytes;
  };
  for await (const chunk of chunksOf(body)) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    yield flush();
    if (translator.done) return;
  }
  // The last response carries the finish reason: a stream that ends without one was cut short.
  if (!translator.sawFinish) throw new Error('the Gemini stream ended before its finish reason');
  frames.push(...translator.finish());
  yield flush();
}

export function translateGeminiBody(body: Uint8Array, input: DispatchInput): { bytes: Uint8Array; facts: StreamFacts } {
  const parsed: unknown = JSON.parse(new TextDecoder().decode(body));
  if (!isRecord(parsed) || (!('candidates' in parsed) && !('promptFeedback' in parsed))) throw new Error('upstream answered 2xx with a body that is not a GenerateContentResponse');
  const translated = translateGeminiMessage(parsed, input.decision.requestedModel);
  return { bytes: encoder.encode(JSON.stringify(translated.message)), facts: { usageReported: translated.usageReported } };
}

function prepareMessages(input: DispatchInput, target: UpstreamTarget): PreparedRequest {
  const headers = new Headers({ 'content-type': 'application/json', accept: input.stream ? 'text/event-stream' : 'application/json' });
  applyProviderHeaders(headers, target, input.caller);
  const key = upstreamApiKey(target);
  if (key === undefined) throw new CredentialError(target.apiKeyEnv ? `the Gemini API key variable ${target.apiKeyEnv} is unset` : `provider ${target.provider} names no api_key_env`);
  headers.set('x-goog-api-key', key);
  const url = versionedUrl(target.baseUrl, 'v1beta', `models/${encodeURIComponent(target.model)}${generateMethod(input.stream)}`);
  return { url, headers, body: JSON.stringify(translateGeminiRequest(input, target)) };
}

export const geminiAdapter: UpstreamAdapter = {
  prepareMessages,
  translateMessage: (body, input) => translateGeminiBody(body, input),
  translateStream: (body, input, facts) => translateGeminiStream(body, input, facts),
};
