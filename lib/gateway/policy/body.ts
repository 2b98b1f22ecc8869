import { GatewayError } from '@/lib/gateway/errors';
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import { isRecord } from '@/lib/platform/json';

/** A Messages API request body: only what the gateway reads is typed; the rest passes through. */
export interface MessagesBody extends Record<string, unknown> {
  model: string;
  messages: unknown[];
  max_tokens?: number;
  stream?: boolean;
}

export interface ReadBodyOptions {
  maxBytes: number;
  /** Messages requests need max_tokens (budgets reserve against it); count_tokens does not. */
  requireMaxTokens: boolean;
}

export interface ReadBody {
  body: MessagesBody;
  bytes: number;
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError('request_too_large', `request body is larger than the ${maxBytes} bytes this gateway accepts`);
}

function invalid(message: string): GatewayError {
  return new GatewayError('invalid_request_error', message);
}

/**
 * Reads the body as it arrives and stops at the cap, so an oversized or lying request costs at
 * most `maxBytes` of memory. A declared Content-Length over the cap is refused before reading.
 */
async function readCapped(request: DataPlaneRequest, maxBytes: number, declared: number): Promise<Uint8Array> {
  const bytes = await request.readBody(maxBytes);
  if (bytes === null) throw tooLarge(maxBytes);
  // More or fewer bytes than Content-Length said: the framing is broken.
  if (bytes.byteLength > declared) throw invalid('request body is longer than its Content-Length');
  if (bytes.byteLength < declared) throw invalid('request body is shorter than its Content-Length');
  return bytes;
}

// Far deeper than any Messages request (tool schemas included); a body nesting deeper would
// parse, but every later walk of it (serialising it upstream) would overflow the stack. Every
// walk of a parsed body (the content inspection included) goes exactly this deep, no less.
export const MAX_JSON_DEPTH = 128;

/** The deepest nesting of arrays and objects in JSON text, counting only brackets outside strings. */
function nestingDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (inString) {
      if (byte === 0x5c) index += 1; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (byte === 0x5d || byte === 0x7d) depth -= 1;
  }
  return deepest;
}

function parseJson(bytes: Uint8Array): unknown {
  if (nestingDepth(bytes) > MAX_JSON_DEPTH) throw invalid(`request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`request body is not valid JSON: ${(error as Error).message}`);
  }
}

function validate(value: unknown, options: ReadBodyOptions): MessagesBody {
  if (!isRecord(value)) throw invalid('request body must be a JSON object');
  const body = value as Record<string, unknown>;
  if (typeof body.model !== 'string' || body.model.trim() === '') throw invalid('model: Field required');
  if (body.model.length > 256) throw invalid('model: must be at most 256 characters');
  if (!Array.isArray(body.messages)) throw invalid('messages: Field required (an array of messages)');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw invalid('stream: must be a boolean');
  if (body.max_tokens !== undefined || options.requireMaxTokens) {
    const maxTokens = body.max_tokens;
    if (maxTokens === undefined) throw invalid('max_tokens: Field required');
    if (typeof maxTokens !== 'number' || !Number.isSafeInteger(maxTokens) || maxTokens < 1) throw invalid('max_tokens: must be a positive integer');
  }
  return body as MessagesBody;
}

/**
 * The request body of POST /v1/messages (and count_tokens): size rules first (411 without a
 * Content-Length, 413 over the cap, without reading), then JSON and the fields the gateway needs.
 * Unknown fields are kept untouched: clients add new ones in any release.
 */
export async function readMessagesBody(request: DataPlaneRequest, options: ReadBodyOptions): Promise<ReadBody> {
  const header = request.headers.get('content-length');
  if (header === null) {
    // Claude Code always sends Content-Length; a chunked upload would make the cap a guess.
    throw new GatewayError('invalid_request_error', 'a Content-Length header is required', { status: 411 });
  }
  if (!/^\d{1,15}$/.test(header.trim())) throw invalid('Content-Length is not a number');
  const declared = Number(header.trim());
  if (declared > options.maxBytes) throw tooLarge(options.maxBytes);
  if (declared === 0) throw invalid('request body is empty');
  const bytes = await readCapped(request, options.maxBytes, declared);
  return { body: validate(parseJson(bytes), options), bytes: bytes.byteLength };
}
