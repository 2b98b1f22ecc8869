/**
 * OpenAI-compatible upstreams. URL and credential by provider type:
 * - openai, groq, openai_compatible (vLLM, Ollama, llama.cpp, TGI):
 *     POST {base_url}/v1/chat/completions (or {base_url}/chat/completions when base_url ends in /v1),
 *     `Authorization: Bearer <key>` when the provider names an api_key_env.
 *     e.g. https://api.openai.com, https://api.groq.com/openai, http://vllm:8000/v1, http://ollama:11434
 * - azure (Azure OpenAI): the target's model is the DEPLOYMENT name:
 *     POST {base_url}/openai/deployments/{deployment}/chat/completions?api-version={api_version}
 *     with `api-key: <key>`; base_url is the resource endpoint, e.g. https://corp.openai.azure.com,
 *     and api_version defaults to 2024-10-21 (the current GA version). `api_version: v1` selects
 *     Azure's v1 API instead: POST {base_url}/openai/v1/chat/completions, the deployment as `model`.
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { endpoint, type PreparedRequest, type UpstreamAdapter } from '../adapter';
import { applyProviderHeaders, upstreamApiKey } from '../headers';
import { translateRequest } from './request';
import { translateCompletion } from './response';
import { translateOpenAIStream } from './stream';

export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

function url(target: UpstreamTarget): string {
  if (target.providerType !== 'azure') return endpoint(target.baseUrl, 'chat/completions');
  const base = target.baseUrl.replace(/\/+$/, '');
  if (target.apiVersion === 'v1') return `${base}/openai/v1/chat/completions`;
  const version = encodeURIComponent(target.apiVersion ?? DEFAULT_AZURE_API_VERSION);
  return `${base}/openai/deployments/${encodeURIComponent(target.model)}/chat/completions?api-version=${version}`;
}

function prepareMessages(input: DispatchInput, target: UpstreamTarget): PreparedRequest {
  const body = translateRequest(input, target);
  const headers = new Headers({ 'content-type': 'application/json', accept: input.stream ? 'text/event-stream' : 'application/json' });
  applyProviderHeaders(headers, target, input.caller);
  const key = upstreamApiKey(target);
  if (key !== undefined) {
    if (target.providerType === 'azure') headers.set('api-key', key);
    else headers.set('authorization', `Bearer ${key}`);
  }
  return { url: url(target), headers, body: JSON.stringify(body) };
}

const encoder = new TextEncoder();

export const openAIAdapter: UpstreamAdapter = {
  prepareMessages,
  translateMessage(body) {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(body));
    if (typeof parsed !== 'object' || parsed === null || !('choices' in parsed)) throw new Error('upstream answered 2xx with a body that is not a chat completion');
    const translated = translateCompletion(parsed);
    return { bytes: encoder.encode(JSON.stringify(translated.message)), facts: { usageReported: translated.usageReported, hiddenOutputBytes: translated.reasoningBytes } };
  },
  translateStream: (body, _input, facts) => translateOpenAIStream(body, facts),
};
