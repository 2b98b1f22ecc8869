/**
 * `type: vertex` (Google Cloud Vertex AI), by the target's model:
 * - Claude (`claude-sonnet-4-5@20250929`: the `@`-versioned ids) through the Anthropic publisher:
 *     POST {base}/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict
 *     (`:streamRawPredict` when streaming), the Anthropic body minus `model` and `tags`, plus
 *     `anthropic_version: vertex-2023-10-16`; `stream` stays; accepted betas stay in the header;
 *     the answer is Anthropic JSON / SSE, relayed as is. count_tokens: `count-tokens:rawPredict`.
 * - Gemini through the Google publisher: `…/publishers/google/models/{model}:generateContent`
 *   (`:streamGenerateContent?alt=sse`), with the Gemini translation.
 * Both with a bearer token from Application Default Credentials (auth.ts).
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { chunksOf, TranslationError, type PreparedRequest, type UpstreamAdapter } from '../adapter';
import { acceptedBetas } from '../betas';
import { applyProviderHeaders, forwardedAnthropicHeaders } from '../headers';
import { generateMethod, translateGeminiBody, translateGeminiStream } from '../gemini/adapter';
import { translateGeminiRequest } from '../gemini/request';
import { googleAccessToken } from './auth';

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

const LEFT_OUT = new Set(['model', 'tags', 'anthropic_version', 'anthropic_beta']);

export function isClaudeOnVertex(target: UpstreamTarget): boolean {
  return /claude/i.test(target.model);
}

function modelsUrl(target: UpstreamTarget, publisher: 'anthropic' | 'google', modelAndMethod: string): string {
  if (!target.project || !target.region) throw new TranslationError(`provider ${target.provider} needs project and region`);
  const base = target.baseUrl.replace(/\/+$/, '');
  return `${base}/v1/projects/${encodeURIComponent(target.project)}/locations/${encodeURIComponent(target.region)}/publishers/${publisher}/models/${modelAndMethod}`;
}

async function claudeRequest(input: DispatchInput, target: UpstreamTarget, modelAndMethod: string, keepModel: boolean): Promise<PreparedRequest> {
  const headers = forwardedAnthropicHeaders(input.headers);
  headers.delete('anthropic-beta');
  const betas = acceptedBetas(target, input.headers.get('anthropic-beta'));
  if (betas.length > 0) headers.set('anthropic-beta', betas.join(','));
  applyProviderHeaders(headers, target, input.caller);
  headers.set('authorization', `Bearer ${await googleAccessToken(target.project ?? '')}`);
  const body: Record<string, unknown> = { anthropic_version: VERTEX_ANTHROPIC_VERSION };
  if (keepModel) body.model = target.model;
  for (const [key, value] of Object.entries(input.body)) if (!LEFT_OUT.has(key)) body[key] = value;
  return { url: modelsUrl(target, 'anthropic', modelAndMethod), headers, body: JSON.stringify(body) };
}

async function geminiRequest(input: DispatchInput, target: UpstreamTarget): Promise<PreparedRequest> {
  const headers = new Headers({ 'content-type': 'application/json', accept: input.stream ? 'text/event-stream' : 'application/json' });
  applyProviderHeaders(headers, target, input.caller);
  const body = JSON.stringify(translateGeminiRequest(input, target));
  headers.set('authorization', `Bearer ${await googleAccessToken(target.project ?? '')}`);
  return { url: modelsUrl(target, 'google', `${encodeURIComponent(target.model)}${generateMethod(input.stream)}`), headers, body };
}

export const vertexAdapter: UpstreamAdapter = {
  prepareMessages: (input, target) =>
    isClaudeOnVertex(target) ? claudeRequest(input, target, `${encodeURIComponent(target.model)}:${input.stream ? 'streamRawPredict' : 'rawPredict'}`, false) : geminiRequest(input, target),
  translateMessage: (body, input, target) => (isClaudeOnVertex(target) ? { bytes: body, facts: { usageReported: true } } : translateGeminiBody(body, input)),
  translateStream: (body, input, facts, target) => (isClaudeOnVertex(target) ? chunksOf(body) : translateGeminiStream(body, input, facts)),
  countTokens: {
    prepare: (input, target) => (isClaudeOnVertex(target) ? claudeRequest(input, target, 'count-tokens:rawPredict', true) : null),
    translate: (body) => body,
  },
};
