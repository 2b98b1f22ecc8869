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
import { playJson, playStream, sendJson, startFakeServer, type FakeBehaviour, type FakeErrorBehaviour, type FakeServer, type FakeServerOptions, type RecordedRequest } from './server';
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

const PATH = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|count-tokens)$/;

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
    const action = route[2];
    const invokeBody = action === 'count-tokens' ? decodeCountTokensBody(request.body) : request.body;
    const invalid = invalidInvokeBody(invokeBody);
    if (invalid) {
      sendBedrockError(res, { kind: 'error', status: 400, errorType: 'ValidationException', message: invalid });
      return;
    }
    if (behaviour.kind === 'hang') return;
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
