/**
 * Upstream error answers, read and made safe for the client. Providers' messages can name the
 * company's account (org ids, workspaces, ARNs): the operator gets them in the log, the client gets
 * the Anthropic envelope with the error type kept and a generic message, except the messages
 * Claude Code recovers from (`prompt is too long: …`), which are relayed as the contract requires.
 */
import { anthropicError, type AnthropicErrorType } from '@/lib/gateway/errors';
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import { upstreamTuning } from './tuning';

export interface UpstreamErrorDetails {
  status: number;
  envelope: 'anthropic' | 'openai' | 'other';
  type: string | null;
  message: string | null;
  code: string | null;
}

/** Enough of an error body to understand it; more is never needed and could be huge. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES));
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export async function readUpstreamError(response: Response): Promise<UpstreamErrorDetails> {
  const raw = await readLimited(response).catch(() => '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const body = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const error = typeof body.error === 'object' && body.error !== null ? (body.error as Record<string, unknown>) : null;
  if (body.type === 'error' && error) {
    return { status: response.status, envelope: 'anthropic', type: text(error.type), message: text(error.message), code: null };
  }
  if (error) {
    const code = typeof error.code === 'number' ? String(error.code) : text(error.code);
    return { status: response.status, envelope: 'openai', type: text(error.type), message: text(error.message), code };
  }
  // vLLM and some servers answer {"message": …} or {"detail": …}; others plain text.
  const message = text(body.message) ?? text(body.detail) ?? (raw.trim() ? raw.trim().slice(0, 500) : null);
  return { status: response.status, envelope: 'other', type: null, message, code: null };
}

export function logUpstreamError(target: UpstreamTarget, details: UpstreamErrorDetails): void {
  upstreamTuning().logger.warn('upstream answered with an error', { provider: target.provider, model: target.model, ...details });
}

const TYPE_BY_STATUS: Record<number, AnthropicErrorType> = {
  400: 'invalid_request_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  422: 'invalid_request_error',
};

const KNOWN_TYPES = new Set<string>(['invalid_request_error', 'authentication_error', 'billing_error', 'permission_error', 'not_found_error', 'request_too_large', 'rate_limit_error', 'api_error', 'overloaded_error']);

/**
 * OpenAI-style servers report an over-long prompt in their own words; Claude Code only compacts
 * on Anthropic's, so say it that way: `prompt is too long: <used> tokens > <limit> maximum`.
 */
function contextLengthMessage(details: UpstreamErrorDetails): string | null {
  const message = details.message ?? '';
  const overflow = details.code === 'context_length_exceeded' || /maximum context length|context window|context_length_exceeded/i.test(message);
  if (!overflow) return null;
  const limit = /maximum context length is (\d+)/i.exec(message)?.[1];
  const used = /(?:resulted in|requested|you requested|has) (\d+) tokens/i.exec(message)?.[1];
  return limit && used ? `prompt is too long: ${used} tokens > ${limit} maximum` : 'prompt is too long: the request exceeds the model context window';
}

export interface ClientError {
  status: number;
  type: AnthropicErrorType;
  message: string;
}

/** The client's view of a non-retryable upstream 4xx. */
export function clientErrorFromUpstream(details: UpstreamErrorDetails): ClientError {
  const status = details.status === 422 ? 400 : details.status;
  const type: AnthropicErrorType =
    details.envelope === 'anthropic' && details.type !== null && KNOWN_TYPES.has(details.type) ? (details.type as AnthropicErrorType) : (TYPE_BY_STATUS[status] ?? 'invalid_request_error');

  if (details.envelope === 'anthropic' && (status === 400 || status === 413) && details.message) return { status, type, message: details.message };
  const overflow = status === 400 || status === 413 ? contextLengthMessage(details) : null;
  if (overflow) return { status: 400, type: 'invalid_request_error', message: overflow };
  const message = status === 404 ? 'The requested model is not available from its upstream provider.' : `The upstream model provider rejected the request (HTTP ${status}).`;
  return { status, type, message };
}

export function clientErrorResponse(error: ClientError): Response {
  return anthropicError(error.type, error.message, { status: error.status });
}
