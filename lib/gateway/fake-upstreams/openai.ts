/**
 * A fake OpenAI-compatible Chat Completions server (the dialect vLLM, Ollama, llama.cpp, TGI, Groq,
 * OpenAI and Azure OpenAI share) on 127.0.0.1:
 *
 *   POST …/chat/completions   any path ending so: /v1/chat/completions, and Azure's
 *                             /openai/deployments/{deployment}/chat/completions?api-version=…
 *     JSON:  {"id","object":"chat.completion","choices":[{"message":{"role","content","tool_calls"?},
 *             "finish_reason"}],"usage":{"prompt_tokens","completion_tokens","total_tokens",
 *             "prompt_tokens_details":{"cached_tokens"}}}
 *     SSE:   data: {"object":"chat.completion.chunk","choices":[{"delta":{…},"finish_reason":null}]}
 *            first delta carries role, then content pieces, then tool_calls pieces:
 *              {"index":i,"id","type":"function","function":{"name","arguments":""}} opens call i,
 *              {"index":i,"function":{"arguments":"<fragment>"}} continues it;
 *            a chunk with finish_reason (stop | length | tool_calls | content_filter),
 *            then — only when stream_options.include_usage — a chunk with "choices":[] and usage,
 *            then `data: [DONE]`. A reply with `omitUsage` plays a server that never reports usage:
 *            no usage chunk whatever the request asked, no `usage` in the JSON.
 *
 * Errors use OpenAI's envelope {"error":{"message","type","param","code"}}.
 */
import type { ServerResponse } from 'node:http';
import {
  playJson,
  playStream,
  requestedModel,
  sendJson,
  splitIntoPieces,
  startFakeUpstream,
  type FakeBehaviour,
  type FakeErrorBehaviour,
  type FakeReplyIdentity,
  type FakeServer,
  type FakeUpstreamOptions,
  type RecordedRequest,
  type WireFormat,
} from './server';

export interface FakeOpenAIToolCall {
  id?: string;
  name: string;
  /** An object is serialised; a string goes out as is (to script malformed arguments). */
  arguments: string | Record<string, unknown>;
}

/** What the fake model says. Everything has a default, so `{}` is a valid reply. */
export interface FakeOpenAIReply extends FakeReplyIdentity {
  content?: string | null;
  /** vLLM / DeepSeek / Qwen style reasoning, streamed before the content. */
  reasoning?: string;
  toolCalls?: FakeOpenAIToolCall[];
  /** Defaults to `tool_calls` when tool calls are present, otherwise `stop`. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  usage?: { prompt_tokens?: number; completion_tokens?: number; cached_tokens?: number };
  /** Stream the argument fragments of parallel tool calls interleaved (call 0, call 1, call 0…). */
  interleaveToolCalls?: boolean;
  /** Never report usage, as some servers do (stream_options.include_usage ignored, no `usage` in JSON). */
  omitUsage?: boolean;
}

export type FakeOpenAIBehaviour = FakeBehaviour<FakeOpenAIReply>;

/** `apiKey`: requests must carry `Authorization: Bearer <apiKey>` or Azure's `api-key: <apiKey>`. */
export type FakeOpenAIOptions = FakeUpstreamOptions<FakeOpenAIReply>;

export type FakeOpenAI = FakeServer<FakeOpenAIReply>;

export const DEFAULT_OPENAI_TEXT = 'Hello from the fake OpenAI-compatible upstream.';

/** Upstream failures in OpenAI's own words (messages mention an org id, as real ones do). */
export const openAIFailures = {
  rateLimited: (retryAfterSeconds = 1): FakeErrorBehaviour => ({
    kind: 'error',
    status: 429,
    errorType: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for model in organization org-FAKEACCOUNT on requests per min (RPM): Limit 3, Used 3, Requested 1.',
    headers: { 'retry-after': String(retryAfterSeconds) },
  }),
  serverError: (): FakeErrorBehaviour => ({ kind: 'error', status: 500, errorType: 'server_error', code: null, message: 'The server had an error while processing your request.' }),
  unavailable: (): FakeErrorBehaviour => ({ kind: 'error', status: 503, errorType: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later' }),
  contextLengthExceeded: (): FakeErrorBehaviour => ({
    kind: 'error',
    status: 400,
    errorType: 'invalid_request_error',
    code: 'context_length_exceeded',
    message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
  }),
};

interface ResolvedReply {
  id: string;
  model: string;
  created: number;
  content: string | null;
  reasoning: string | undefined;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number } };
  interleave: boolean;
  omitUsage: boolean;
}

let completionCounter = 0;

function resolveReply(reply: FakeOpenAIReply | undefined, request: RecordedRequest): ResolvedReply {
  const toolCalls = (reply?.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `call_fake_${index + 1}`,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
  const prompt = reply?.usage?.prompt_tokens ?? 15;
  const completion = reply?.usage?.completion_tokens ?? 9;
  return {
    id: reply?.id ?? `chatcmpl-fake${String((completionCounter += 1)).padStart(4, '0')}`,
    model: reply?.model ?? requestedModel(request, 'fake-model'),
    created: 1_760_000_000,
    content: reply?.content === undefined ? (toolCalls.length > 0 ? null : DEFAULT_OPENAI_TEXT) : reply.content,
    reasoning: reply?.reasoning,
    toolCalls,
    finishReason: reply?.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: reply?.usage?.cached_tokens ?? 0 } },
    interleave: reply?.interleaveToolCalls ?? false,
    omitUsage: reply?.omitUsage ?? false,
  };
}

export function openAICompletion(reply: ResolvedReply): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: reply.content, refusal: null };
  if (reply.reasoning !== undefined) message.reasoning_content = reply.reasoning;
  if (reply.toolCalls.length > 0) {
    message.tool_calls = reply.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  }
  return {
    id: reply.id,
    object: 'chat.completion',
    created: reply.created,
    model: reply.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finishReason }],
    ...(reply.omitUsage ? {} : { usage: reply.usage }),
  };
}

/** The `data:` frames of a streamed reply, ending with `data: [DONE]`. */
export function openAIStreamFrames(reply: ResolvedReply, includeUsage: boolean): string[] {
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    `data: ${JSON.stringify({
      id: reply.id,
      object: 'chat.completion.chunk',
      created: reply.created,
      model: reply.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    })}\n\n`;

  const frames = [chunk({ role: 'assistant', content: '' })];
  for (const piece of splitIntoPieces(reply.reasoning ?? '', 2)) frames.push(chunk({ reasoning_content: piece }));
  for (const piece of splitIntoPieces(reply.content ?? '', 3)) frames.push(chunk({ content: piece }));

  // Each call opens with id + name; its arguments follow in fragments.
  const fragments = reply.toolCalls.map((call, index) => splitIntoPieces(call.arguments, 3).map((args) => ({ index, function: { arguments: args } })));
  const opening = (index: number) => {
    const call = reply.toolCalls[index];
    return call ? { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } } : null;
  };
  if (reply.interleave) {
    reply.toolCalls.forEach((_call, index) => frames.push(chunk({ tool_calls: [opening(index)] })));
    const longest = Math.max(0, ...fragments.map((list) => list.length));
    for (let step = 0; step < longest; step += 1) {
      for (const list of fragments) {
        const fragment = list[step];
        if (fragment) frames.push(chunk({ tool_calls: [fragment] }));
      }
    }
  } else {
    fragments.forEach((list, index) => {
      frames.push(chunk({ tool_calls: [opening(index)] }));
      for (const fragment of list) frames.push(chunk({ tool_calls: [fragment] }));
    });
  }

  frames.push(chunk({}, reply.finishReason));
  if (includeUsage) {
    frames.push(`data: ${JSON.stringify({ id: reply.id, object: 'chat.completion.chunk', created: reply.created, model: reply.model, choices: [], usage: reply.usage })}\n\n`);
  }
  frames.push('data: [DONE]\n\n');
  return frames;
}

function errorResponse(res: ServerResponse, behaviour: FakeErrorBehaviour): void {
  sendJson(
    res,
    behaviour.status,
    { error: { message: behaviour.message, type: behaviour.errorType, param: null, code: behaviour.code ?? null } },
    { 'x-request-id': 'req_fake_error', ...behaviour.headers },
  );
}

/** The Chat Completions wire format: paths, key check, error envelope and answers. */
export const openAIWire: WireFormat<FakeOpenAIReply> = {
  serves: (request) => request.method === 'POST' && request.path.endsWith('/chat/completions'),
  notFound: (request) => ({ kind: 'error', status: 404, errorType: 'invalid_request_error', code: 'unknown_url', message: `Unknown request URL: ${request.method} ${request.path}` }),
  presentsKey: (request, apiKey) => request.headers.authorization === `Bearer ${apiKey}` || request.headers['api-key'] === apiKey,
  badKey: { kind: 'error', status: 401, errorType: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  sendError: errorResponse,
  async answer({ request, behaviour, res }) {
    const body = (request.body ?? {}) as { stream?: unknown; stream_options?: { include_usage?: unknown } };
    const reply = resolveReply(behaviour.reply, request);
    const headers = { 'x-request-id': `req_${reply.id}`, 'x-ratelimit-remaining-requests': '99' };
    if (body.stream === true) {
      await playStream(res, openAIStreamFrames(reply, body.stream_options?.include_usage === true && !reply.omitUsage), behaviour, headers);
    } else {
      await playJson(res, openAICompletion(reply), behaviour, headers);
    }
  },
};

export function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  return startFakeUpstream<FakeOpenAIReply>(options, openAIWire);
}
