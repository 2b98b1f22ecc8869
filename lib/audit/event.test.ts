import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuditEventValidationError, MAX_EVENT_JSON_BYTES, parseAuditEvent, type AuditEventInput } from './event';

const tenant = randomUUID();
const minimal: AuditEventInput = { tenant_id: tenant, event_type: 'auth.sign_in', action: 'session.create', outcome: 'success' };

function issuesOf(input: unknown): string {
  try {
    parseAuditEvent(input as AuditEventInput);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditEventValidationError);
    return (error as Error).message;
  }
  throw new Error('expected the event to be rejected');
}

describe('audit event schema', () => {
  it('fills in event_id (UUIDv7), occurred_at (UTC, ms), trace_id (W3C) and schema_version', () => {
    const event = parseAuditEvent(minimal);
    expect(event.schema_version).toBe(1);
    expect(event.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(event.occurred_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(event.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(parseAuditEvent(minimal).event_id).not.toBe(event.event_id);
    expect(parseAuditEvent(minimal).trace_id).not.toBe(event.trace_id);
  });

  it('normalises timestamps and ids so the same event always hashes the same way', () => {
    const event = parseAuditEvent({ ...minimal, tenant_id: tenant.toUpperCase(), occurred_at: '2026-03-01T10:00:00+02:00' });
    expect(event.occurred_at).toBe('2026-03-01T08:00:00.000Z');
    expect(event.tenant_id).toBe(tenant);
    expect(parseAuditEvent({ ...minimal, occurred_at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) }).occurred_at).toBe('2026-01-02T03:04:05.006Z');
  });

  it('accepts a fully populated inference event and drops undefined members', () => {
    const event = parseAuditEvent({
      ...minimal,
      event_type: 'inference.response',
      action: 'messages.create',
      span_id: '00f067aa0ba902b7',
      session_id: undefined,
      actor: { user_id: randomUUID(), email: 'ada@example.com', department: 'research', roles: ['member'] },
      call_source: 'gateway',
      gen_ai: {
        operation: 'chat',
        provider: 'anthropic',
        request_model: 'claude-sonnet-4-5',
        response_model: 'claude-sonnet-4-5-20250929',
        input_tokens: 1200,
        output_tokens: 350,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
        finish_reasons: ['end_turn'],
        stream: true,
      },
      cost: { microdollars: 9_007_199_254_740_991 },
      content_refs: [{ kind: 'prompt', sha256: 'ab'.repeat(32), byte_size: 1234 }],
      attributes: { 'gateway.route': 'messages', retries: 0, cached: false },
    });
    expect(event.cost).toEqual({ microdollars: Number.MAX_SAFE_INTEGER, currency: 'USD' });
    expect('session_id' in event).toBe(false);
    expect(event.actor?.roles).toEqual(['member']);
  });

  it('rejects unknown keys at the top level and inside blocks', () => {
    expect(issuesOf({ ...minimal, severity: 'high' })).toMatch(/severity/);
    expect(issuesOf({ ...minimal, gen_ai: { operation: 'chat', provider: 'anthropic', tokens: 3 } })).toMatch(/tokens/);
    expect(issuesOf({ ...minimal, policy: { decision: 'allow', policy_id: 'x' } })).toMatch(/policy_id/);
  });

  it('rejects values outside the vocabulary', () => {
    expect(issuesOf({ ...minimal, event_type: 'ai.inference' })).toMatch(/event_type/);
    expect(issuesOf({ ...minimal, outcome: 'ok' })).toMatch(/outcome/);
    expect(issuesOf({ ...minimal, action: 'Create User' })).toMatch(/action/);
    expect(issuesOf({ ...minimal, policy: { decision: 'maybe' } })).toMatch(/decision/);
    expect(issuesOf({ ...minimal, content_refs: [{ kind: 'image', sha256: 'ab'.repeat(32), byte_size: 1 }] })).toMatch(/kind/);
    expect(issuesOf({ ...minimal, cost: { microdollars: 1, currency: 'EUR' } })).toMatch(/currency/);
    expect(issuesOf({ ...minimal, attributes: { 'has space': 1 } })).toMatch(/attributes\.has space: Invalid key/);
    expect(issuesOf({ ...minimal, attributes: { nested: { a: 1 } } })).toMatch(/attributes/);
  });

  it('rejects malformed ids, hashes and numbers', () => {
    expect(issuesOf({ ...minimal, tenant_id: 'acme' })).toMatch(/tenant_id/);
    expect(issuesOf({ ...minimal, event_id: randomUUID() })).toMatch(/event_id/); // v4, not v7
    expect(issuesOf({ ...minimal, trace_id: 'ABCDEF'.padEnd(32, '0') })).toMatch(/trace_id/);
    expect(issuesOf({ ...minimal, trace_id: '0'.repeat(32) })).toMatch(/trace_id/);
    expect(issuesOf({ ...minimal, span_id: '123' })).toMatch(/span_id/);
    expect(issuesOf({ ...minimal, cost: { microdollars: 1.5 } })).toMatch(/microdollars/);
    expect(issuesOf({ ...minimal, cost: { microdollars: 2 ** 53 } })).toMatch(/microdollars/);
    expect(issuesOf({ ...minimal, cost: { microdollars: -1 } })).toMatch(/microdollars/);
    expect(issuesOf({ ...minimal, occurred_at: '2026-13-01T00:00:00Z' })).toMatch(/occurred_at/);
    expect(issuesOf({ ...minimal, content_refs: [{ kind: 'prompt', sha256: 'xyz', byte_size: 1 }] })).toMatch(/sha256/);
  });

  it('makes free text storable in PostgreSQL instead of failing the batch', () => {
    const event = parseAuditEvent({ ...minimal, origin: { user_agent: 'bad\u0000agent\ud800' } });
    expect(event.origin?.user_agent).toBe('bad\ufffdagent\ufffd');
  });

  it('refuses oversized events and points at content storage', () => {
    const message = issuesOf({ ...minimal, attributes: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'x'.repeat(4000)])) });
    expect(message).toMatch(String(MAX_EVENT_JSON_BYTES));
    expect(message).toMatch(/storeContent/);
  });
});
