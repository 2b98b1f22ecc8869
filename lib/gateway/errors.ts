import { isDatabaseBusy } from '@/lib/db/pool';
import { IncompleteRequestBodyError } from '@/lib/http/node-adapter';

/**
 * Errors on the Anthropic-compatible API (/v1/*) use Anthropic's envelope, so the SDK and Claude
 * Code show `error.message` to the user and react to `error.type` as they would against
 * api.anthropic.com.
 */
export const ANTHROPIC_ERROR_STATUS = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 429,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  not_supported: 501,
  overloaded_error: 529,
} as const;

export type AnthropicErrorType = keyof typeof ANTHROPIC_ERROR_STATUS;

export interface AnthropicErrorOptions {
  /** Defaults to the usual status of the type. */
  status?: number;
  headers?: HeadersInit;
}

export function anthropicErrorBody(type: AnthropicErrorType | string, message: string): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type, message } };
}

/** An Anthropic error as the headers and bytes of an answer written natively (not a Web Response). */
export function anthropicErrorPayload(type: AnthropicErrorType | string, message: string): { headers: Headers; body: Uint8Array } {
  return { headers: new Headers({ 'content-type': 'application/json' }), body: new TextEncoder().encode(JSON.stringify(anthropicErrorBody(type, message))) };
}

export function anthropicError(type: AnthropicErrorType, message: string, options: AnthropicErrorOptions = {}): Response {
  const headers = new Headers(options.headers);
  headers.set('content-type', 'application/json');
  return new Response(JSON.stringify(anthropicErrorBody(type, message)), {
    status: options.status ?? ANTHROPIC_ERROR_STATUS[type],
    headers,
  });
}

/** A failure inside the gateway that already knows its Anthropic shape. */
export class GatewayError extends Error {
  constructor(
    readonly type: AnthropicErrorType,
    message: string,
    readonly options: AnthropicErrorOptions = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  toResponse(): Response {
    return anthropicError(this.type, this.message, this.options);
  }
}

/**
 * The one error map of the gateway's endpoints: what a thrown error means for the client, or null
 * when it is Gatehouse failing (the caller logs it and answers 500 api_error). Bad input is
 * answered in its own words, and a client that left mid-upload is its own doing (400).
 */
export function knownErrorResponse(error: unknown): Response | null {
  if (error instanceof GatewayError) return error.toResponse();
  if (error instanceof IncompleteRequestBodyError) return anthropicError('invalid_request_error', error.message);
  return overloadedResponse(error);
}

/**
 * A database out of connections (lib/db's DatabaseBusyError: none free within the pool's connect
 * timeout) is Gatehouse at capacity, not broken: 529 overloaded_error, which the SDK and Claude
 * Code retry with backoff. Null for any other failure.
 */
export function overloadedResponse(error: unknown): Response | null {
  if (!isDatabaseBusy(error)) return null;
  return anthropicError('overloaded_error', 'Gatehouse is overloaded (no database connection free); try again shortly', { headers: { 'x-should-retry': 'true' } });
}
