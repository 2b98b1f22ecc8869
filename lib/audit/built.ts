import { v7 as uuidv7 } from 'uuid';
import {
  ATTRIBUTE_KEY,
  ATTRIBUTE_KEY_RULE,
  AUDIT_EVENT_TYPES,
  AUDIT_OUTCOMES,
  AUDIT_SCHEMA_VERSION,
  AuditEventValidationError,
  CONTENT_KINDS,
  GEN_AI_OPERATIONS,
  isAuditCount,
  MAX_EVENT_JSON_BYTES,
  newTraceId,
  oversizeError,
  POLICY_DECISIONS,
  prepareAuditEvent,
  storable,
  type AuditEvent,
  type AuditEventInput,
  type PreparedAuditEvent,
} from './event';

/**
 * prepareAuditEvent for the hot path: events that Gatehouse code builds from typed values that
 * were checked where they came in (the gateway's evidence: the caller's token claims, canonical
 * headers with their length limits, the routed model). The schema's parse cost more than the rest
 * of recording such an event, and it can only repeat checks the types and the trust boundary
 * already made, so here the event is completed exactly as the schema would complete it (the
 * defaults, UTC timestamps, lower-case ids, storable text, no undefined members) and serialised
 * to RFC 8785 canonical JSON in one walk, with the same size limit.
 *
 * The members that carry values from outside (upstream usage counts, configured tag names) or
 * that a builder could get wrong without the types noticing are still checked against the
 * schema's own rules (checkBuilt): a chained event is evidence and must never be off-schema.
 *
 * Under vitest every such event is also run through the schema and must come out byte-identical,
 * so a builder that drifts from the schema fails its tests instead of storing an off-schema event.
 */
export function prepareBuiltAuditEvent(input: AuditEventInput): PreparedAuditEvent {
  checkBuilt(input);
  const completed: Record<string, unknown> = {
    ...input,
    schema_version: input.schema_version ?? AUDIT_SCHEMA_VERSION,
    event_id: input.event_id ?? uuidv7(),
    occurred_at: input.occurred_at === undefined ? new Date().toISOString() : new Date(input.occurred_at).toISOString(),
    trace_id: input.trace_id ?? newTraceId(),
    tenant_id: input.tenant_id.toLowerCase(),
  };
  if (input.actor) completed.actor = { ...input.actor, roles: input.actor.roles ?? [], ...(input.actor.user_id ? { user_id: input.actor.user_id.toLowerCase() } : {}) };
  if (input.cost) completed.cost = { ...input.cost, currency: input.cost.currency ?? 'USD' };
  const { value, json } = canonicalCopy(completed);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_EVENT_JSON_BYTES) throw oversizeError(bytes, input);
  if (process.env.VITEST) crossCheck(completed as AuditEventInput, json);
  return { event: value as AuditEvent, canonical: json };
}

const EVENT_TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);
const OUTCOMES: ReadonlySet<string> = new Set(AUDIT_OUTCOMES);
const OPERATIONS: ReadonlySet<string> = new Set(GEN_AI_OPERATIONS);
const DECISIONS: ReadonlySet<string> = new Set(POLICY_DECISIONS);
const KINDS: ReadonlySet<string> = new Set(CONTENT_KINDS);
const GEN_AI_COUNTS = [
  'input_tokens',
  'output_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'reasoning_output_tokens',
  'max_tokens',
  'time_to_first_chunk_ms',
  'duration_ms',
] as const;

/** The schema's enums, counts and attribute-key rule, without its parse; throws as the schema would. */
function checkBuilt(input: AuditEventInput): void {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const member = (ok: boolean, path: (string | number)[], message: string) => {
    if (!ok) issues.push({ path, message });
  };
  member(EVENT_TYPES.has(input.event_type), ['event_type'], 'not an audit event type');
  member(OUTCOMES.has(input.outcome), ['outcome'], 'not an audit outcome');
  if (input.gen_ai) {
    member(OPERATIONS.has(input.gen_ai.operation), ['gen_ai', 'operation'], 'not a gen_ai operation');
    for (const field of GEN_AI_COUNTS) {
      const value = input.gen_ai[field];
      if (value !== undefined) member(isAuditCount(value), ['gen_ai', field], 'must be a non-negative safe integer');
    }
  }
  if (input.mcp?.duration_ms !== undefined) member(isAuditCount(input.mcp.duration_ms), ['mcp', 'duration_ms'], 'must be a non-negative safe integer');
  if (input.policy) member(DECISIONS.has(input.policy.decision), ['policy', 'decision'], 'not a policy decision');
  if (input.cost) member(isAuditCount(input.cost.microdollars), ['cost', 'microdollars'], 'must be a non-negative safe integer');
  input.content_refs?.forEach((ref, index) => {
    member(KINDS.has(ref.kind), ['content_refs', index, 'kind'], 'not a content kind');
    member(isAuditCount(ref.byte_size), ['content_refs', index, 'byte_size'], 'must be a non-negative safe integer');
  });
  if (input.attributes) for (const key of Object.keys(input.attributes)) member(ATTRIBUTE_KEY.test(key), ['attributes', key], ATTRIBUTE_KEY_RULE);
  if (issues.length === 0) return;
  const summary = issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  throw new AuditEventValidationError(
    issues.map((issue) => ({ code: 'custom', input, ...issue })),
    summary,
  );
}

function crossCheck(completed: AuditEventInput, canonical: string): void {
  const reference = prepareAuditEvent(completed);
  if (reference.canonical !== canonical) throw new Error(`a built audit event differs from the schema's:\n  built  ${canonical}\n  schema ${reference.canonical}`);
}

/**
 * A JSON copy of `value` (undefined members dropped, text made storable) and its RFC 8785
 * canonical JSON: keys sorted by UTF-16 code units, numbers and strings as JSON.stringify writes
 * them (JCS's forms for finite numbers and well-formed strings, which storable text always is).
 */
function canonicalCopy(value: unknown): { value: unknown; json: string } {
  if (typeof value === 'string') {
    const text = storable(value);
    return { value: text, json: JSON.stringify(text) };
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('an audit event cannot hold NaN or Infinity');
    return { value, json: JSON.stringify(value) };
  }
  if (typeof value === 'boolean' || value === null) return { value, json: JSON.stringify(value) };
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    const parts: string[] = [];
    for (const item of value) {
      const copy = canonicalCopy(item === undefined ? null : item);
      items.push(copy.value);
      parts.push(copy.json);
    }
    return { value: items, json: `[${parts.join(',')}]` };
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      const inner = canonicalCopy(member);
      // Keys are vocabulary or checked attribute names; one that is not storable text (NUL, a lone
      // surrogate) would make PostgreSQL refuse the whole batch, and the schema refuses it too.
      if (storable(key) !== key) throw new Error('an audit event key must be storable text');
      // Assigning a member named __proto__ would set the prototype instead: that one is defined.
      if (key === '__proto__') Object.defineProperty(copy, key, { value: inner.value, writable: true, enumerable: true, configurable: true });
      else copy[key] = inner.value;
      parts.push(`${JSON.stringify(key)}:${inner.json}`);
    }
    return { value: copy, json: `{${parts.join(',')}}` };
  }
  throw new Error(`an audit event cannot hold a ${typeof value}`);
}
