/**
 * Anthropic passthrough (api.anthropic.com, or any host speaking the Messages API; Azure AI
 * Foundry's /anthropic is the same with its own credential, foundry/adapter.ts). The body goes up
 * unchanged except `model`, so unknown fields and betas keep working; the answer comes back byte
 * for byte.
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { chunksOf, endpoint, type PreparedRequest, type StreamFacts, type UpstreamAdapter, type UpstreamBody } from '../adapter';
import { applyProviderHeaders, forwardedAnthropicHeaders, upstreamApiKey } from '../headers';

/** The request without its credential: the Anthropic headers, the provider's, the body with the target's model. */
export function preparePassthrough(path: string, input: DispatchInput, target: UpstreamTarget): PreparedRequest {
  const headers = forwardedAnthropicHeaders(input.headers);
  applyProviderHeaders(headers, target, input.caller);
  // Spread keeps every other field, in order, exactly as the client sent it.
  return { url: endpoint(target.baseUrl, path), headers, body: JSON.stringify({ ...input.body, model: target.model }) };
}

function prepare(path: string, input: DispatchInput, target: UpstreamTarget): PreparedRequest {
  const prepared = preparePassthrough(path, input, target);
  const key = upstreamApiKey(target);
  if (key !== undefined) prepared.headers.set('x-api-key', key);
  return prepared;
}

export const anthropicAdapter: UpstreamAdapter = {
  prepareMessages: (input, target) => prepare('messages', input, target),
  translateMessage: (body) => ({ bytes: body, facts: { usageReported: true } }),
  translateStream: (body: UpstreamBody, _input: DispatchInput, _facts: StreamFacts) => chunksOf(body),
  countTokens: { prepare: (input, target) => prepare('messages/count_tokens', input, target), translate: (body) => body },
};
