/**
 * A fake Anthropic Messages API on 127.0.0.1, faithful to the wire format so tests can point the
 * gateway (and @anthropic-ai/sdk) at it:
 *
 *   POST /v1/messages               JSON, or SSE when `stream: true`:
 *     event: message_start         {"type":"message_start","message":{…,"content":[],"usage":{…}}}
 *     event: content_block_start   one per block; text blocks start with "text":"", tool_use with "input":{}
 *     event: ping                  once, after the first block starts (as the real API does)
 *     event: content_block_delta   text_delta pieces, or input_json_delta pieces (the first may be "")
 *     event: content_block_stop
 *     event: message_delta         stop_reason + cumulative usage
 *     event: message_stop
 *   POST /v1/messages/count_tokens  {"input_tokens": N}
 *
 * Errors use the Anthropic envelope {"type":"error","error":{"type","message"}} with a request-id
 * header; 429s carry retry-after. Successful answers carry `anthropic-ratelimit-*` headers of the
 * upstream's own organisation, which a gateway must not relay.
 */
import type { ServerResponse } from 'node:http';
import type { Usage } from '@/lib/gateway/contracts';
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

export type FakeAnthropicBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id?: string; name: string; input: Record<string, unknown> }
  | { type: 'thinking'; thinking: string; signature: string };

/** What the fake model says. Everything has a default, so `{}` is a valid reply. */
export interface FakeAnthropicReply extends FakeReplyIdentity {
  content?: FakeAnthropicBlock[];
  /** Defaults to `tool_use` when a tool_use block is present, otherwise `end_turn`. */
  stopReason?: string;
  usage?: Partial<Usage>;
  /** How many text_delta events each streamed text block is cut into (3 by default). */
  textDeltas?: number;
}

export type FakeAnthropicBehaviour = FakeBehaviour<FakeAnthropicReply>;

/** `apiKey`: requests without `x-api-key: <apiKey>` (or `Authorization: Bearer <apiKey>`) get 401 authentication_error. */
export type FakeAnthropicOptions = FakeUpstreamOptions<FakeAnthropicReply>;

export type FakeAnthropic = FakeServer<FakeAnthropicReply>;

export const DEFAULT_ANTHROPIC_TEXT = 'Hello from the fake Anthropic upstream.';

const DEFAULT_USAGE: Usage = { input_tokens: 12, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

export function textReply(text: string, extra: Omit<FakeAnthropicReply, 'content'> = {}): FakeAnthropicReply {
  return { ...extra, content: [{ type: 'text', text }] };
}

export function toolUseReply(name: string, input: Record<string, unknown>, extra: Omit<FakeAnthropicReply, 'content'> & { preamble?: string; id?: string } = {}): FakeAnthropicReply {
  const { preamble, id, ...rest } = extra;
  const blocks: FakeAnthropicBlock[] = preamble ? [{ type: 'text', text: preamble }] : [];
  blocks.push({ type: 'tool_use', id: id ?? 'toolu_fake_01', name, input });
  return { ...rest, content: blocks };
}

/** Upstream failures in Anthropic's own words. Messages mention an org id, as real ones can. */
export const anthropicFailures = {
  rateLimited: (retryAfterSeconds = 1): FakeErrorBehaviour => ({
    kind: 'error',
    status: 429,
    errorType: 'rate_limit_error',
    message: 'This request would exceed the rate limit for your organization (org_01FAKEACCOUNT) of 50 requests per minute.',
    headers: { 'retry-after': String(retryAfterSeconds) },
  }),
  serverError: (): FakeErrorBehaviour => ({ kind: 'error', status: 500, errorType: 'api_error', message: 'Internal server error' }),
  unavailable: (): FakeErrorBehaviour => ({ kind: 'error', status: 503, errorType: 'api_error', message: 'Service unavailable for org_01FAKEACCOUNT' }),
  overloaded: (): FakeErrorBehaviour => ({ kind: 'error', status: 529, errorType: 'overloaded_error', message: 'Overloaded' }),
  promptTooLong: (): FakeErrorBehaviour => ({
    kind: 'error',
    status: 400,
    errorType: 'invalid_request_error',
    message: 'prompt is too long: 210345 tokens > 200000 maximum',
  }),
  invalidRequest: (message = 'messages.0.content: field required (workspace wrk_01FAKEACCOUNT)'): FakeErrorBehaviour => ({
    kind: 'error',
    status: 400,
    errorType: 'invalid_request_error',
    message,
  }),
};

export interface ResolvedReply {
  id: string;
  model: string;
  content: FakeAnthropicBlock[];
  stopReason: string;
  usage: Usage;
  textDeltas: number;
}

let messageCounter = 0;

export function resolveReply(reply: FakeAnthropicReply | undefined, request: RecordedRequest): ResolvedReply {
  const content = reply?.content ?? [{ type: 'text', text: DEFAULT_ANTHROPIC_TEXT }];
  let toolCounter = 0;
  const withIds = content.map((block) => (block.type === 'tool_use' ? { ...block, id: block.id ?? `toolu_fake_${(toolCounter += 1)}` } : block));
  return {
    id: reply?.id ?? `msg_fake_${String((messageCounter += 1)).padStart(4, '0')}`,
    model: reply?.model ?? requestedModel(request, 'claude-fake'),
    content: withIds,
    stopReason: reply?.stopReason ?? (content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn'),
    usage: { ...DEFAULT_USAGE, ...reply?.usage },
    textDeltas: reply?.textDeltas ?? 3,
  };
}

/** The non-streaming Messages API answer for a reply. */
export function anthropicMessage(reply: ResolvedReply): Record<string, unknown> {
  return {
    id: reply.id,
    type: 'message',
    role: 'assistant',
    model: reply.model,
    content: reply.content,
    stop_reason: reply.stopReason,
    stop_sequence: null,
    usage: reply.usage,
  };
}

/** Like splitIntoPieces, but an empty string still gives one empty delta, as the real API sends. */
function pieces(text: string, parts: number): string[] {
  return text.length === 0 ? [''] : splitIntoPieces(text, parts);
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The SSE frames of a streamed reply, in the exact order the real API sends them. */
export function anthropicStreamFrames(reply: ResolvedReply): string[] {
  const frames = [
    frame('message_start', {
      type: 'message_start',
      message: { ...anthropicMessage(reply), content: [], stop_reason: null, usage: { ...reply.usage, output_tokens: 1 } },
    }),
  ];
  reply.content.forEach((block, index) => {
    if (block.type === 'text') {
      frames.push(frame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
      if (index === 0) frames.push(frame('ping', { type: 'ping' }));
      for (const text of pieces(block.text, reply.textDeltas)) {
        frames.push(frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text } }));
      }
    } else if (block.type === 'thinking') {
      frames.push(frame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
      if (index === 0) frames.push(frame('ping', { type: 'ping' }));
      for (const thinking of pieces(block.thinking, 2)) {
        frames.push(frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } }));
      }
      frames.push(frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } }));
    } else {
      frames.push(
        frame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } }),
      );
      if (index === 0) frames.push(frame('ping', { type: 'ping' }));
      for (const partial of ['', ...pieces(JSON.stringify(block.input), 3)]) {
        frames.push(frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } }));
      }
    }
    frames.push(frame('content_block_stop', { type: 'content_block_stop', index }));
  });
  frames.push(
    frame('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: reply.stopReason, stop_sequence: null },
      usage: reply.usage,
    }),
  );
  frames.push(frame('message_stop', { type: 'message_stop' }));
  return frames;
}

/** What the real API's `anthropic-ratelimit-*` headers look like for the upstream's own organisation. */
const UPSTREAM_RATE_LIMIT_HEADERS = {
  'anthropic-ratelimit-requests-limit': '4000',
  'anthropic-ratelimit-requests-remaining': '3999',
  'anthropic-ratelimit-tokens-limit': '400000',
};

function errorResponse(res: ServerResponse, behaviour: FakeErrorBehaviour): void {
  sendJson(
    res,
    behaviour.status,
    { type: 'error', error: { type: behaviour.errorType, message: behaviour.message }, request_id: 'req_fake_error' },
    { 'request-id': 'req_fake_error', ...behaviour.headers },
  );
}

/** What count_tokens answers: about one token per 4 characters of system, messages and tools. */
export function estimateInputTokens(body: unknown): number {
  const { messages, system, tools } = (body ?? {}) as Record<string, unknown>;
  return Math.max(1, Math.ceil(JSON.stringify([system ?? null, messages ?? [], tools ?? []]).length / 4));
}

/** The Messages API wire format: paths, key check, error envelope and answers. */
export const anthropicWire: WireFormat<FakeAnthropicReply> = {
  serves: (request) => request.method === 'POST' && (request.path === '/v1/messages' || request.path === '/v1/messages/count_tokens'),
  notFound: (request) => ({ kind: 'error', status: 404, errorType: 'not_found_error', message: `Not found: ${request.method} ${request.path}` }),
  presentsKey: (request, apiKey) => request.headers['x-api-key'] === apiKey || request.headers.authorization === `Bearer ${apiKey}`,
  badKey: { kind: 'error', status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' },
  sendError: errorResponse,
  async answer({ request, behaviour, res }) {
    if (request.path === '/v1/messages/count_tokens') {
      await playJson(res, { input_tokens: estimateInputTokens(request.body) }, behaviour);
      return;
    }
    const reply = resolveReply(behaviour.reply, request);
    const headers = { 'request-id': `req_${reply.id}`, ...UPSTREAM_RATE_LIMIT_HEADERS };
    if ((request.body as { stream?: unknown } | null)?.stream === true) {
      await playStream(res, anthropicStreamFrames(reply), behaviour, headers);
    } else {
      await playJson(res, anthropicMessage(reply), behaviour, headers);
    }
  },
};

export function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  return startFakeUpstream<FakeAnthropicReply>(options, anthropicWire);
}
