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
