/**
 * A fake Amazon Bedrock runtime on 127.0.0.1, speaking its documented wire format:
 *
 *   POST /model/{modelId}/invoke                       native Anthropic body in, Anthropic message out
 *   POST /model/{modelId}/invoke-with-response-stream  `application/vnd.amazon.eventstream`: binary
 *        frames (prelude, CRCs) with headers :message-type event, :event-type chunk,
 *        :content-type application/json and payload {"bytes":"<base64 Anthropic event>","p":…};
 *        message_stop carries amazon-bedrock-invocationMetrics; Bedrock sends no pings.
 *        A failure after the 200 is a :message-type exception frame (:exception-type
 *        throttlingException, modelStreamErrorException…) with {"message"}.
 *   POST /model/{modelId}/count-tokens                 {"input":{"invokeModel":{"body":"<base64>"}}} → {"inputTokens":N}
 *   POST /model/{modelId}/converse                     Converse: {messages:[{role, content:[{text}|{image}|{toolUse}|
 *        {toolResult}|{cachePoint}…]}], system, inferenceConfig, toolConfig} → {output:{message}, stopReason, usage}
 *   POST /model/{modelId}/converse-stream              event-stream frames by :event-type: messageStart,
 *        contentBlockStart (tool use only), contentBlockDelta, contentBlockStop, messageStop, then
 *        metadata with the usage. Converse refuses toolUse/toolResult blocks without toolConfig, and
 *        turns that do not alternate, as Bedrock does.
 *
 * The model id is URL-encoded in the path (`anthropic.claude-…-v1%3A0`, ARNs too). Every request
 * must be SigV4-signed (service bedrock) with the fake's credentials, recomputed here (sigv4.ts),
 * or carry `Authorization: Bearer <apiKey>` (a Bedrock API key) when one is set. The body must be
 * what InvokeModel accepts: `anthropic_version: bedrock-2023-05-31`, no `model`, no `stream`, no
 * `tags` (else 400 "extra inputs are not permitted"). Errors: HTTP status, `x-amzn-errortype:
 * <Name>:http://internal.amazon.com/coral/com.amazon.bedrock/`, body {"message"}; messages can name
 * the account, as real ones do.
 */
import type { ServerResponse } from 'node:http';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { anthropicMessage, anthropicStreamFrames, estimateInputTokens, resolveReply, type FakeAnthropicReply } from './anthropic';
import { playJson, playStream, resetConnection, sendJson, startFakeServer, type FakeBehaviour, type FakeErrorBehaviour, type FakeServer, type FakeServerOptions, type RecordedRequest } from './server';
import { sigV4Problem, type AwsTestCredentials } from './sigv4';

export interface FakeBedrockReply extends FakeAnthropicReply {
  /** Streaming: after this many chunk frames, an exception frame instead of the rest. */
  exceptionAfterEvents?: { afterEvents: number; type: string; message: string };
}

export type FakeBedrockBehaviour = FakeBehaviour<FakeBedrockReply>;

export interface FakeBedrockOptions extends FakeServerOptions<FakeBedrockReply> {
  /** The only credentials whose signatures are accepted. */
  credentials?: Omit<AwsTestCredentials, 'service'>;
  /** A Bedrock API key accepted as a bearer token instead of a signature. */
  apiKey?: string;
}

export type FakeBedrock = FakeServer<FakeBedrockReply> & { credentials: Omit<AwsTestCredentials, 'service'> };

export const FAKE_AWS_CREDENTIALS = { accessKeyId: 'AKIAFAKEGATEHOUSE01', secretAccessKey: 'fake/secret/key/for+tests', sessionToken: 'FwoGZXIvYXdzEFAKESESSION', region: 'us-east-1' };

/** Bedrock failures in its own words; messages name the account, as real ones can. */
export const bedrockFailures = {
  throttled: (): FakeErrorBehaviour => ({ kind: 'error', status: 429, errorType: 'ThrottlingException', message: 'Too many requests, please wait before trying again. (account 123456789012)' }),
  unavailable: (): FakeErrorBehaviour => ({ kind: 'error', status: 503, errorType: 'ServiceUnavailableException', message: 'Bedrock is unable to process your request.' }),
  inputTooLong: (): FakeErrorBehaviour => ({ kind: 'error', status: 400, errorType: 'ValidationException', message: 'Input is too long.' }),
  accessDenied: (): FakeErrorBehaviour => ({
    kind: 'error',
    status: 403,
    errorType: 'AccessDeniedException',
    message: 'User: arn:aws:sts::123456789012:assumed-role/gatehouse/i-0abc is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-fake',
  }),
  validation: (message = 'The provided model identifier is invalid for arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.fake'): FakeErrorBehaviour => ({ kind: 'error', status: 400, errorType: 'ValidationException', message }),
};

const PATH = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|count-tokens|converse|converse-stream)$/;

function sendBedrockError(res: ServerResponse, behaviour: FakeErrorBehaviour): void {
  sendJson(res, behaviour.status, { message: behaviour.message }, {
    'x-amzn-errortype': `${behaviour.errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    'x-amzn-requestid': 'b0e5f7a2-fake-4c1d-9e8f-requestid',
    ...behaviour.headers,
  });
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function frameHeaders(values: Record<string, string>): MessageHeaders {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { type: 'string' as const, value }]));
}

function chunkFrame(event: Record<string, unknown>): Uint8Array {
  const payload = { bytes: Buffer.from(JSON.stringify(event)).toString('base64'), p: 'abcdefghijklmnopqrstuvwxyzABCDEFGH'.slice(0, 1 + (JSON.stringify(event).length % 30)) };
  return codec.encode({ headers: frameHeaders({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' }), body: fromUtf8(JSON.stringify(payload)) });
}

export function exceptionFrame(type: string, message: string): Uint8Array {
  return codec.encode({ headers: frameHeaders({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' }), body: fromUtf8(JSON.stringify({ message })) });
}

/** The body InvokeModel would refuse, and why; null when it is acceptable. */
function invalidInvokeBody(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return 'Malformed input request, please reformat your input and try again.';
  const record = body as Record<string, unknown>;
  if (record.anthropic_version !== 'bedrock-2023-05-31') return 'Malformed input request: #: required key [anthropic_version] not found';
  const extra = ['model', 'stream', 'tags'].filter((key) => key in record);
  if (extra.length > 0) return `Malformed input request: #: extraneous key [${extra[0]}] is not permitted, please reformat your input and try again.`;
  return null;
}

/** The Anthropic events of a streamed reply as Bedrock frames (no pings; metrics on message_stop). */
function invokeStreamFrames(reply: ReturnType<typeof resolveReply>, exception?: FakeBedrockReply['exceptionAfterEvents']): Uint8Array[] {
  const events = anthropicStreamFrames(reply)
    .map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as Record<string, unknown>)
    .filter((event) => event.type !== 'ping');
  const frames = events.map((event) =>
    chunkFrame(
      event.type === 'message_stop'
        ? { ...event, 'amazon-bedrock-invocationMetrics': { inputTokenCount: reply.usage.input_tokens, outputTokenCount: reply.usage.output_tokens, invocationLatency: 321, firstByteLatency: 87 } }
        : event,
    ),
  );
  if (!exception) return frames;
  return [...frames.slice(0, exception.afterEvents), exceptionFrame(exception.type, exception.message)];
}

function modelOf(request: RecordedRequest): string {
  return decodeURIComponent(PATH.exec(request.path)?.[1] ?? 'unknown');
}

export async function startFakeBedrock(options: FakeBedrockOptions = {}): Promise<FakeBedrock> {
  const credentials = options.credentials ?? FAKE_AWS_CREDENTIALS;
  const server = await startFakeServer<FakeBedrockReply>(options, { kind: 'reply' }, async ({ request, behaviour, res }) => {
    const route = PATH.exec(request.path);
    if (request.method !== 'POST' || !route) {
      sendBedrockError(res, { kind: 'error', status: 404, errorType: 'UnknownOperationException', message: 'Unknown operation' });
      return;
    }
    const bearer = options.apiKey !== undefined && request.headers.authorization === `Bearer ${options.apiKey}`;
    const problem = bearer ? null : sigV4Problem(request, { ...credentials, service: 'bedrock' });
    if (problem) {
      sendBedrockError(res, { kind: 'error', status: 403, errorType: 'InvalidSignatureException', message: problem });
      return;
    }
    const action = route[2]!;
    const converse = action.startsWith('converse');
    const invokeBody = action === 'count-tokens' ? decodeCountTokensBody(request.body) : request.body;
    const invalid = converse ? invalidConverseBody(request.body) : invalidInvokeBody(invokeBody);
    if (invalid) {
      sendBedrockError(res, { kind: 'error', status: 400, errorType: 'ValidationException', message: invalid });
      return;
    }
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'reset') return resetConnection(res);
    if (behaviour.kind === 'error') {
      sendBedrockError(res, behaviour);
      return;
    }
    if (action === 'count-tokens') {
      await playJson(res, { inputTokens: estimateInputTokens(invokeBody) }, behaviour);
      return;
    }
    const reply = resolveReply({ model: modelOf(request), ...behaviour.reply }, request);
    const headers = { 'x-amzn-requestid': `req-${reply.id}`, 'x-amzn-bedrock-invocation-latency': '321' };
    if (action === 'converse-stream') {
      await playStream(res, converseStreamFrames(reply, behaviour.reply?.exceptionAfterEvents), behaviour, { ...headers, 'content-type': 'application/vnd.amazon.eventstream' });
      return;
    }
    if (action === 'converse') {
      await playJson(res, converseResponse(reply), behaviour, headers);
      return;
    }
    if (action === 'invoke-with-response-stream') {
      await playStream(res, invokeStreamFrames(reply, behaviour.reply?.exceptionAfterEvents), behaviour, { ...headers, 'content-type': 'application/vnd.amazon.eventstream' });
    } else {
      await playJson(res, anthropicMessage(reply), behaviour, { ...headers, 'x-amzn-bedrock-input-token-count': String(reply.usage.input_tokens) });
    }
  });
  return Object.assign(server, { credentials });
}

function decodeCountTokensBody(body: unknown): unknown {
  const encoded = (body as { input?: { invokeModel?: { body?: unknown } } } | null)?.input?.invokeModel?.body;
  if (typeof encoded !== 'string') return null;
  try {
    return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return null;
  }
}

type Json = Record<string, unknown>;

const CONVERSE_BLOCKS = new Set(['text', 'image', 'document', 'toolUse', 'toolResult', 'reasoningContent', 'cachePoint', 'video', 'guardContent']);

/** Why Converse would refuse this body; null when it would not. */
function invalidConverseBody(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as Json).messages)) return 'Malformed input request: messages is required';
  const record = body as Json;
  for (const key of ['anthropic_version', 'model', 'max_tokens']) if (key in record) return `Malformed input request: extraneous key [${key}] is not permitted`;
  let previousRole: unknown = null;
  let usesTools = false;
  for (const [index, message] of (record.messages as Json[]).entries()) {
    if (index === 0 && message.role !== 'user') return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
    if (message.role === previousRole) return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
    previousRole = message.role;
    for (const block of Array.isArray(message.content) ? (message.content as Json[]) : []) {
      const keys = Object.keys(block);
      if (keys.length !== 1 || !CONVERSE_BLOCKS.has(keys[0]!)) return `The content block ${JSON.stringify(keys)} is not a valid ContentBlock member.`;
      if (keys[0] === 'toolUse' || keys[0] === 'toolResult') usesTools = true;
    }
  }
  if (usesTools && record.toolConfig === undefined) return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  return null;
}

function converseUsage(reply: ReturnType<typeof resolveReply>): Json {
  const { input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens } = reply.usage;
  return { inputTokens: input_tokens, outputTokens: output_tokens, totalTokens: input_tokens + output_tokens + cache_read_input_tokens + cache_creation_input_tokens, cacheReadInputTokens: cache_read_input_tokens, cacheWriteInputTokens: cache_creation_input_tokens };
}

function converseResponse(reply: ReturnType<typeof resolveReply>): Json {
  const content = reply.content.map((block) => {
    if (block.type === 'text') return { text: block.text };
    if (block.type === 'thinking') return { reasoningContent: { reasoningText: { text: block.thinking, signature: block.signature } } };
    return { toolUse: { toolUseId: block.id, name: block.name, input: block.input } };
  });
  return { output: { message: { role: 'assistant', content } }, stopReason: reply.stopReason, usage: converseUsage(reply), metrics: { latencyMs: 321 } };
}

function eventFrame(type: string, payload: Json): Uint8Array {
  return codec.encode({ headers: frameHeaders({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }), body: fromUtf8(JSON.stringify({ ...payload, p: 'abcdefgh' })) });
}

function converseStreamFrames(reply: ReturnType<typeof resolveReply>, exception?: FakeBedrockReply['exceptionAfterEvents']): Uint8Array[] {
  const pieces = (text: string) => (text.length < 2 ? [text] : [text.slice(0, Math.ceil(text.length / 2)), text.slice(Math.ceil(text.length / 2))]);
  const frames = [eventFrame('messageStart', { role: 'assistant' })];
  reply.content.forEach((block, contentBlockIndex) => {
    if (block.type === 'text') {
      for (const text of pieces(block.text)) frames.push(eventFrame('contentBlockDelta', { contentBlockIndex, delta: { text } }));
    } else if (block.type === 'thinking') {
      for (const text of pieces(block.thinking)) frames.push(eventFrame('contentBlockDelta', { contentBlockIndex, delta: { reasoningContent: { text } } }));
      frames.push(eventFrame('contentBlockDelta', { contentBlockIndex, delta: { reasoningContent: { signature: block.signature } } }));
    } else {
      frames.push(eventFrame('contentBlockStart', { contentBlockIndex, start: { toolUse: { toolUseId: block.id, name: block.name } } }));
      for (const input of pieces(JSON.stringify(block.input))) frames.push(eventFrame('contentBlockDelta', { contentBlockIndex, delta: { toolUse: { input } } }));
    }
    frames.push(eventFrame('contentBlockStop', { contentBlockIndex }));
  });
  frames.push(eventFrame('messageStop', { stopReason: reply.stopReason }), eventFrame('metadata', { usage: converseUsage(reply), metrics: { latencyMs: 321 } }));
  if (!exception) return frames;
  return [...frames.slice(0, exception.afterEvents), exceptionFrame(exception.type, exception.message)];
}
