/**
 * Anthropic passthrough (api.anthropic.com, Azure AI Foundry's /anthropic, or any host speaking
 * the Messages API). The body goes up unchanged except `model`, so unknown fields and betas keep
 * working; the answer comes back byte for byte.
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { chunksOf, endpoint, type PreparedRequest, type StreamFacts, type UpstreamAdapter } from '../adapter';
import { applyProviderHeaders, forwardedAnthropicHeaders, upstreamApiKey } from '../headers';

function prepare(path: string, input: DispatchInput, target: UpstreamTarget): PreparedRequest {
  const headers = forwardedAnthropicHeaders(input.headers);
  applyProviderHeaders(headers, target, input.caller);
  const key = upstreamApiKey(target);
  if (key !== undefined) headers.set('x-api-key', key);
  // Spread keeps every other field, in order, exactly as the client sent it.
  return { url: endpoint(target.baseUrl, path), headers, body: JSON.stringify({ ...input.body, model: target.model }) };
}

export const anthropicAdapter: UpstreamAdapter = {
  prepareMessages: (input, target) => prepare('messages', input, target),
  translateMessage: (body) => ({ bytes: body, facts: { usageReported: true } }),
  translateStream: (body: ReadableStream<Uint8Array>, _input: DispatchInput, _facts: StreamFacts) => chunksOf(body),
  countTokens: { prepare: (input, target) => prepare('messages/count_tokens', input, target), translate: (body) => body },
};
