import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { activeTraceId } from '@/lib/tracing/active';
import { canonicalJson } from './canonical';

/**
 * The one audit event shape, version 1. Everything that happens in Gatehouse and matters to an
 * auditor is recorded as one of these, hash-chained per tenant (see canonical.ts / writer.ts).
 * Field names follow the OpenTelemetry GenAI / MCP conventions where one exists, in snake_case.
 *
 * Blocks are strict objects: an unknown key is an error rather than silently stored, so the
 * vocabulary can only grow here, on purpose. Free-form extension goes in `attributes`.
 */
export const AUDIT_SCHEMA_VERSION = 1;

export const AUDIT_EVENT_TYPES = [
  'inference.request',
  'inference.response',
  'mcp.tool_call',
  'plugin.lifecycle',
  'auth.sign_in',
  'auth.sign_out',
  'admin.change',
  'policy.decision',
  'system.housekeeping',
  'config.reload',
  'skill.change',
  // Someone read stored evidence that is permissioned apart from events (prompts, completions).
  'audit.access',
  // A budget's spend crossed 75, 95 or 100 % of its cap in the current period.
  'budget.alert',
  // A person connected or disconnected their account at a registered MCP server's provider, or
  // Gatehouse lost it (refresh refused, server revoked).
  'mcp.upstream_grant',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied', 'unknown'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const POLICY_DECISIONS = ['allow', 'ask', 'block', 'redact', 'deny'] as const;
export const CONTENT_KINDS = ['prompt', 'completion', 'tool_arguments', 'tool_result', 'other'] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

/** OpenTelemetry `gen_ai.operation.name` values. */
export const GEN_AI_OPERATIONS = [
  'chat',
  'text_completion',
  'generate_content',
  'embeddings',
  'retrieval',
  'execute_tool',
  'create_agent',
  'invoke_agent',
] as const;

/** Larger documents belong in audit_content (content.ts), referenced by hash. */
export const MAX_EVENT_JSON_BYTES = 64 * 1024;

// PostgreSQL text and jsonb cannot hold NUL, and jsonb rejects unpaired surrogates; either would
// make the database refuse the whole group-commit batch. Free text (user agents, emails typed at
// a sign-in form, error messages cut at a length) is therefore made storable by replacing those
// characters with U+FFFD, rather than letting a stray byte turn a recorded action into an error.
export function storable(value: string): string {
  if (value.isWellFormed() && !value.includes('\u0000')) return value;
  return value.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

function text(max: number) {
  return z.string().max(max).transform(storable);
}

/** Lower-case dotted names: the vocabulary itself, never free text. */
function identifier(max: number, message: string) {
  return z.string().min(1).max(max).regex(/^[a-z][a-z0-9_]*(?:[./:-][a-z0-9_]+)*$/, message);
}

// PostgreSQL's uuid type accepts any 8-4-4-4-12 hex string, so ids from anywhere (including
// hand-written fixtures) are accepted; they are lower-cased so lock ordering in the writer and
// comparisons in the verifier agree with the database's byte order.
const uuidColumn = z.guid().transform((value) => value.toLowerCase());

const lowerHex = (length: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-f]{${length}}$`), `must be ${length} lowercase hex characters`)
    .refine((value) => /[1-9a-f]/.test(value), 'must not be all zeros');

/** A count (tokens, bytes, milliseconds, microdollars): a non-negative safe integer. */
export function isAuditCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

const count = z.number().refine(isAuditCount, 'must be a non-negative safe integer');

export const actorSchema = z.strictObject({
  user_id: uuidColumn.optional(),
  email: text(320).optional(),
  department: text(200).optional(),
  roles: z.array(text(100)).max(100).default([]),
});

export const genAiSchema = z.strictObject({
  operation: z.enum(GEN_AI_OPERATIONS),
  provider: text(100),
  request_model: text(200).optional(),
  response_model: text(200).optional(),
  response_id: text(200).optional(),
  conversation_id: text(200).optional(),
  input_tokens: count.optional(),
  output_tokens: count.optional(),
  cache_read_input_tokens: count.optional(),
  cache_creation_input_tokens: count.optional(),
  reasoning_output_tokens: count.optional(),
  max_tokens: count.optional(),
  temperature: z.number().min(0).max(2).optional(),
  finish_reasons: z.array(text(100)).max(20).optional(),
  stream: z.boolean().optional(),
  tool_name: text(200).optional(),
  tool_call_id: text(200).optional(),
  time_to_first_chunk_ms: count.optional(),
  duration_ms: count.optional(),
});

export const mcpSchema = z.strictObject({
  server: text(200),
  method: text(200),
  tool: text(200).optional(),
  session_id: text(200).optional(),
  protocol_version: text(50).optional(),
  jsonrpc_request_id: z.union([text(200), z.number().int()]).optional(),
  resource_uri: text(2000).optional(),
  is_error: z.boolean().optional(),
  duration_ms: count.optional(),
});

export const pluginSchema = z.strictObject({
  name: text(200),
  version: text(100).optional(),
  marketplace: text(200).optional(),
  source: text(2000).optional(),
  sha256: lowerHex(64).optional(),
  signature_verified: z.boolean().optional(),
});

export const policySchema = z.strictObject({
  decision: z.enum(POLICY_DECISIONS),
  rule: text(200).optional(),
  reason: text(2000).optional(),
});

export const costSchema = z.strictObject({
  microdollars: count,
  currency: z.literal('USD').default('USD'),
});

export const errorSchema = z.strictObject({
  type: text(200),
  message: text(4000).optional(),
  status: z.number().int().min(0).max(999).optional(),
});

/** What an admin action or decision was about, e.g. {type: 'user', id, name}. */
export const targetSchema = z.strictObject({
  type: identifier(100, 'must be a lowercase identifier like "user"'),
  id: text(200).optional(),
  name: text(500).optional(),
});

/** Where a request came from, for sign-ins and API calls. */
export const originSchema = z.strictObject({
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  user_agent: text(1000).optional(),
});

export const contentRefSchema = z.strictObject({
  kind: z.enum(CONTENT_KINDS),
  sha256: lowerHex(64),
  byte_size: count,
});

export const ATTRIBUTE_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
export const ATTRIBUTE_KEY_RULE = 'attribute keys are 1-128 of [A-Za-z0-9_.:-]';
const attributeKey = z.string().regex(ATTRIBUTE_KEY, ATTRIBUTE_KEY_RULE);
const attributeValue = z.union([text(4000), z.number(), z.boolean()]);

const auditEventShape = z
  .strictObject({
    schema_version: z.literal(AUDIT_SCHEMA_VERSION).default(AUDIT_SCHEMA_VERSION),
    event_id: z.uuid({ version: 'v7' }).default(() => uuidv7()),
    event_type: z.enum(AUDIT_EVENT_TYPES),
    action: identifier(200, 'must be a lowercase verb phrase like "session.create"'),
    outcome: z.enum(AUDIT_OUTCOMES),
    // Accepts a Date or any ISO-8601 timestamp with offset; always stored as UTC with milliseconds,
    // so the same instant always hashes the same way.
    occurred_at: z
      .union([z.date(), z.iso.datetime({ offset: true })])
      .transform((value) => new Date(value))
      .refine((date) => !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1970 && date.getUTCFullYear() <= 9999, 'out of range')
      .transform((date) => date.toISOString())
      .default(() => new Date().toISOString()),
    trace_id: lowerHex(32).default(() => newTraceId()),
    span_id: lowerHex(16).optional(),
    session_id: text(200).optional(),
    tenant_id: uuidColumn,
    actor: actorSchema.optional(),
    client_id: text(200).optional(),
    call_source: text(100).optional(),
    policy_version: text(100).optional(),
    target: targetSchema.optional(),
    origin: originSchema.optional(),
    gen_ai: genAiSchema.optional(),
    mcp: mcpSchema.optional(),
    plugin: pluginSchema.optional(),
    policy: policySchema.optional(),
    cost: costSchema.optional(),
    error: errorSchema.optional(),
    content_refs: z.array(contentRefSchema).max(100).optional(),
    attributes: z.record(attributeKey, attributeValue).optional(),
  });

/** A validated event exactly as stored and hashed. */
export type AuditEvent = z.output<typeof auditEventShape>;
/** What callers pass: event_id, occurred_at, trace_id and schema_version are filled in when absent. */
export type AuditEventInput = z.input<typeof auditEventShape>;

export class AuditEventValidationError extends Error {
  constructor(readonly issues: z.core.$ZodIssue[], summary: string) {
    super(`invalid audit event: ${summary}`);
    this.name = 'AuditEventValidationError';
  }
}

/** An event whose canonical JSON is over MAX_EVENT_JSON_BYTES. */
export function oversizeError(bytes: number, input: unknown): AuditEventValidationError {
  const message = `event is ${bytes} bytes of JSON, over the ${MAX_EVENT_JSON_BYTES} limit; store large content with storeContent() and reference it in content_refs`;
  return new AuditEventValidationError([{ code: 'custom', message, path: [], input }], `event: ${message}`);
}

/**
 * W3C trace-context trace id: the traced request's when the event is recorded inside one (so the
 * event and the span share it), else 16 random bytes as lowercase hex.
 */
export function newTraceId(): string {
  return activeTraceId() ?? randomBytes(16).toString('hex');
}

/** An event validated and completed, with the RFC 8785 canonical JSON it is stored and hashed as. */
export interface PreparedAuditEvent {
  event: AuditEvent;
  /** canonicalJson(event): the jsonb column's text and the document the chain hash covers. */
  canonical: string;
}

/**
 * Validates and completes an event, and serialises it once: the canonical JSON is what the size
 * limit is measured on, what is stored and what the chain hash covers (the database computes the
 * hash from this text, lib/audit/writer.ts). `event` is that JSON parsed back, so it is plain JSON
 * data (no undefined members): exactly the document PostgreSQL stores and gives back.
 */
export function prepareAuditEvent(input: AuditEventInput): PreparedAuditEvent {
  const result = auditEventShape.safeParse(input);
  if (!result.success) {
    const summary = result.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'event'}: ${issue.message}`).join('; ');
    throw new AuditEventValidationError(result.error.issues, summary);
  }
  const canonical = canonicalJson(result.data);
  const bytes = Buffer.byteLength(canonical);
  if (bytes > MAX_EVENT_JSON_BYTES) throw oversizeError(bytes, input);
  return { event: JSON.parse(canonical) as AuditEvent, canonical };
}

/** Validates and completes an event (see prepareAuditEvent). */
export function parseAuditEvent(input: AuditEventInput): AuditEvent {
  return prepareAuditEvent(input).event;
}
