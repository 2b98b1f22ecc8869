import { v7 as uuidv7 } from 'uuid';
import { AUDIT_SCHEMA_VERSION, MAX_EVENT_JSON_BYTES, newTraceId, oversizeError, prepareAuditEvent, storable, type AuditEvent, type AuditEventInput, type PreparedAuditEvent } from './event';

/**
 * prepareAuditEvent for the hot path: events that Gatehouse code builds from typed values that
 * were checked where they came in (the gateway's evidence: the caller's token claims, canonical
 * headers with their length limits, the routed model). The schema's parse cost more than the rest
 * of recording such an event, and it can only repeat checks the types and the trust boundary
 * already made, so here the event is completed exactly as the schema would complete it (the
 * defaults, UTC timestamps, lower-case ids, storable text, no undefined members) and serialised
 * to RFC 8785 canonical JSON in one walk, with the same size limit.
 *
 * Under vitest every such event is also run through the schema and must come out byte-identical,
 * so a builder that drifts from the schema fails its tests instead of storing an off-schema event.
 */
export function prepareBuiltAuditEvent(input: AuditEventInput): PreparedAuditEvent {
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
      // Assigning a member named __proto__ would set the prototype instead: that one is defined.
      if (key === '__proto__') Object.defineProperty(copy, key, { value: inner.value, writable: true, enumerable: true, configurable: true });
      else copy[key] = inner.value;
      parts.push(`${JSON.stringify(key)}:${inner.json}`);
    }
    return { value: copy, json: `{${parts.join(',')}}` };
  }
  throw new Error(`an audit event cannot hold a ${typeof value}`);
}
