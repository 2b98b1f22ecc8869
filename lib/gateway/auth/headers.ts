import { randomBytes } from 'node:crypto';
import { GatewayError } from '@/lib/gateway/errors';
import type { HeaderReader } from '@/lib/http/data-plane-request';
import { activeTraceId } from '@/lib/tracing/active';

/**
 * Gatehouse's canonical request headers. Identity always comes from the token: the identity
 * headers are only compared with it. The others describe the call and are recorded.
 */
export interface CanonicalHeaders {
  userId: string | null;
  tenantId: string | null;
  clientId: string | null;
  /** 32 lowercase hex characters: the client's, or generated when it sent none. */
  traceId: string;
  traceIdGenerated: boolean;
  sessionId: string | null;
  /** The policy version the client believes is in force; clients may lag behind a reload. */
  policyVersion: string | null;
  callSource: string | null;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const ALL_ZEROS = /^0+$/;
// W3C trace context: version-traceid-parentid-flags.
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const CALL_SOURCE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const PRINTABLE = /^[\x21-\x7e][\x20-\x7e]*$/;

export function generateTraceId(): string {
  return randomBytes(16).toString('hex');
}

function invalid(message: string): GatewayError {
  return new GatewayError('invalid_request_error', message);
}

function text(headers: HeaderReader, name: string, max: number): string | null {
  const value = headers.get(name)?.trim();
  if (!value) return null;
  if (value.length > max || !PRINTABLE.test(value)) throw invalid(`${name} must be at most ${max} printable ASCII characters`);
  return value;
}

/** x-trace-id as 32 hex (a UUID's dashes are dropped), else the W3C traceparent's, else a new one. */
function traceIdOf(headers: HeaderReader): { traceId: string; generated: boolean } {
  const header = headers.get('x-trace-id')?.trim();
  if (header) {
    const normalised = header.replaceAll('-', '').toLowerCase();
    if (!TRACE_ID.test(normalised) || ALL_ZEROS.test(normalised)) throw invalid('x-trace-id must be 32 hexadecimal characters (a W3C trace id), not all zeros');
    return { traceId: normalised, generated: false };
  }
  const parent = TRACEPARENT.exec(headers.get('traceparent')?.trim().toLowerCase() ?? '');
  if (parent && !ALL_ZEROS.test(parent[1]!)) return { traceId: parent[1]!, generated: false };
  // Inside a traced request the span's trace id is the request's: spans and audit events agree.
  return { traceId: activeTraceId() ?? generateTraceId(), generated: true };
}

/** The trace id the client sent (x-trace-id or traceparent), if valid; undefined otherwise. */
export function clientTraceId(headers: HeaderReader): string | undefined {
  try {
    const { traceId, generated } = traceIdOf(headers);
    return generated ? undefined : traceId;
  } catch {
    return undefined;
  }
}

/**
 * Parses and checks the canonical headers. Throws GatewayError (400) for a malformed one; the
 * trace id to answer with is then `fallbackTraceId` (see readTraceIdLeniently).
 */
export function readCanonicalHeaders(headers: HeaderReader): CanonicalHeaders {
  const { traceId, generated } = traceIdOf(headers);
  const callSource = headers.get('x-call-source')?.trim() || null;
  if (callSource !== null && !CALL_SOURCE.test(callSource)) throw invalid('x-call-source must be 1-100 letters, digits or _ . : -');
  return {
    userId: text(headers, 'x-user-id', 320),
    tenantId: text(headers, 'x-tenant-id', 200),
    clientId: text(headers, 'x-client-id', 200),
    traceId,
    traceIdGenerated: generated,
    sessionId: text(headers, 'x-session-id', 200) ?? text(headers, 'x-claude-code-session-id', 200),
    policyVersion: text(headers, 'x-policy-version', 100),
    callSource,
  };
}

/** A valid trace id of the request if it has one, for answering a request whose headers were refused. */
export function readTraceIdLeniently(headers: HeaderReader): string {
  try {
    return traceIdOf(headers).traceId;
  } catch {
    return generateTraceId();
  }
}
