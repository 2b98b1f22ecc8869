/**
 * Upstream error answers, read and made safe for the client. Providers' messages can name the
 * company's account (org ids, workspaces, ARNs, project ids): the operator gets them in the log
 * (with the request's trace id), the client gets the Anthropic envelope with the error type kept
 * and a generic message. The only exceptions are the messages the gateway contract lists, because
 * the client's recovery matches on their words (see relayedMessage).
 */
import { anthropicError, type AnthropicErrorType } from '@/lib/gateway/errors';
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import type { UpstreamResponse } from './http-client';
import { readBodyWithIdleLimit } from './read-body';
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

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** What an error answer says; its body is read for at most `idleMs` of silence, and only its start. */
export async function readUpstreamError(response: UpstreamResponse, idleMs: number): Promise<UpstreamErrorDetails> {
  const raw = await readBodyWithIdleLimit(response.body, idleMs, MAX_ERROR_BODY_BYTES).then(
    (bytes) => new TextDecoder().decode(bytes),
    () => '',
  );
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

export function logUpstreamError(target: UpstreamTarget, details: UpstreamErrorDetails, traceId?: string): void {
  upstreamTuning().logger.warn('upstream answered with an error', { provider: target.provider, model: target.model, ...(traceId ? { trace_id: traceId } : {}), ...details });
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

// Anthropic's own wording; Claude Code reads the two numbers to decide how much to compact.
const PROMPT_TOO_LONG = /^prompt is too long: \d+ tokens > \d+ maximum$/;
// Bedrock's whole message; the client drops older images, then compacts, when it matches exactly.
const INPUT_TOO_LONG = 'Input is too long.';
// Vertex's size refusal ("The request size (30037042 bytes) exceeds 30.000MB limit.", also "The message size …").
const VERTEX_TOO_LARGE = /^The (?:request|message) size \(\d+ bytes\) exceeds [\d.]+ ?MB limit\.?$/;

/**
 * The message a client gets word for word, because its recovery keys on the words; null for any
 * other message, which is never relayed (see the gateway contract, "Errors"):
 * - `prompt is too long: <n> tokens > <m> maximum` (400/413): Claude Code compacts and retries;
 * - `Input is too long.` (Bedrock), and Vertex's size refusal said the same way: the client drops
 *   older images, then compacts;
 * - a refusal of auto mode's `safeguards` field: the client retries without it when the message
 *   names it, so it is named (in Gatehouse's words, not the upstream's).
 * OpenAI-style servers say "maximum context length" in their own words: that becomes the
 * Anthropic sentence, so the same recovery works through translation.
 */
function relayedMessage(details: UpstreamErrorDetails, status: number): string | null {
  if (status !== 400 && status !== 413) return null;
  const message = details.message?.trim() ?? '';
  if (PROMPT_TOO_LONG.test(message)) return message;
  if (/^prompt is too long\b/i.test(message)) return 'prompt is too long: the request exceeds the model context window';
  if (message === INPUT_TOO_LONG || VERTEX_TOO_LARGE.test(message)) return INPUT_TOO_LONG;
  if (/\bsafeguards\b/.test(message)) return 'the upstream model provider does not accept `safeguards`; send the request without them';
  return contextLengthMessage(details);
}

function genericMessage(status: number): string {
  if (status === 404) return 'The requested model is not available from its upstream provider.';
  return `The upstream model provider rejected the request (HTTP ${status}); an administrator can find its reason in the Gatehouse log under this request's trace id.`;
}

/** The client's view of a non-retryable upstream 4xx. */
export function clientErrorFromUpstream(details: UpstreamErrorDetails): ClientError {
  const status = details.status === 422 ? 400 : details.status;
  const type: AnthropicErrorType =
    details.envelope === 'anthropic' && details.type !== null && KNOWN_TYPES.has(details.type) ? (details.type as AnthropicErrorType) : (TYPE_BY_STATUS[status] ?? 'invalid_request_error');
  const relayed = relayedMessage(details, status);
  // A context overflow is an invalid request whatever the upstream called it (a 413 included).
  if (relayed) return { status: relayed === INPUT_TOO_LONG || relayed.startsWith('prompt is too long') ? 400 : status, type: 'invalid_request_error', message: relayed };
  return { status, type, message: genericMessage(status) };
}

export function clientErrorResponse(error: ClientError): Response {
  return anthropicError(error.type, error.message, { status: error.status });
}
