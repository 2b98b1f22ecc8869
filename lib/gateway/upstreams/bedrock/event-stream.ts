/**
 * AWS binary event-stream (`application/vnd.amazon.eventstream`), as Bedrock streams answers:
 * length-prefixed, CRC-checked frames whose headers say what they are (`:message-type` event,
 * exception or error; `:event-type` / `:exception-type`) and whose payload is JSON. Decoded with
 * @smithy/eventstream-codec (which checks each whole message; splitting the byte stream into
 * messages is ours); a corrupt frame (bad CRC) throws, which ends the stream with an error.
 */
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { upstreamTuning } from '../tuning';
import { chunksOf, type UpstreamBody } from '../adapter';

export type EventStreamFrame =
  | { kind: 'event'; type: string; payload: Record<string, unknown> }
  /** An exception frame: Bedrock's way to fail after the 200 (throttling, model errors…). */
  | { kind: 'exception'; type: string; message: string };

/** Prelude (total length, headers length, prelude CRC) and the message CRC. */
const MINIMUM_MESSAGE_LENGTH = 16;

function header(headers: MessageHeaders, name: string): string | null {
  const value = headers[name];
  return value?.type === 'string' ? value.value : null;
}

function parsePayload(body: Uint8Array): Record<string, unknown> {
  if (body.length === 0) return {};
  const parsed: unknown = JSON.parse(toUtf8(body));
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

/**
 * The frames of a Bedrock stream, grouped as they completed per network chunk; a chunk that
 * completed no frame gives an empty group (a sign of life for the idle timer).
 */
export async function* eventStreamFrames(body: UpstreamBody): AsyncGenerator<EventStreamFrame[]> {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  let buffered: Buffer = Buffer.alloc(0);
  for await (const chunk of chunksOf(body)) {
    buffered = buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffered, chunk]);
    const frames: EventStreamFrame[] = [];
    // Each message starts with its total length (big-endian uint32); the codec checks the rest.
    while (buffered.length >= 4 && buffered.length >= buffered.readUInt32BE(0)) {
      const length = buffered.readUInt32BE(0);
      if (length < MINIMUM_MESSAGE_LENGTH) throw new Error(`event-stream message of impossible length ${length}`);
      const message = codec.decode(buffered.subarray(0, length));
      buffered = buffered.subarray(length);
      const messageType = header(message.headers, ':message-type');
      if (messageType === 'event') {
        frames.push({ kind: 'event', type: header(message.headers, ':event-type') ?? '', payload: parsePayload(message.body) });
      } else if (messageType === 'exception') {
        const payload = parsePayload(message.body);
        frames.push({ kind: 'exception', type: header(message.headers, ':exception-type') ?? 'exception', message: typeof payload.message === 'string' ? payload.message : '' });
      } else {
        frames.push({ kind: 'exception', type: header(message.headers, ':error-code') ?? 'error', message: header(message.headers, ':error-message') ?? '' });
      }
    }
    yield frames;
  }
  if (buffered.length > 0) throw new Error('event-stream ended inside a message');
}

/** Bedrock's mid-stream exceptions in Anthropic's error types. */
const EXCEPTION_TYPES: Record<string, string> = {
  throttlingException: 'rate_limit_error',
  serviceUnavailableException: 'overloaded_error',
  validationException: 'invalid_request_error',
  modelStreamErrorException: 'api_error',
  internalServerException: 'api_error',
  modelTimeoutException: 'api_error',
};

/**
 * The Anthropic `error` event for an exception frame. Its message can name the AWS account or an
 * ARN: the operator log gets it, the client a sentence of ours.
 */
export function exceptionError(frame: Extract<EventStreamFrame, { kind: 'exception' }>, provider: string, traceId: string): { type: string; message: string } {
  upstreamTuning().logger.warn('upstream stream failed with an exception frame', { provider, trace_id: traceId, exception: frame.type, message: frame.message });
  const type = EXCEPTION_TYPES[frame.type] ?? 'api_error';
  return { type, message: `the upstream stream failed (${frame.type}); an administrator can find its reason in the Gatehouse log under this request's trace id` };
}
