import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { prepareBuiltAuditEvent } from './built';
import { canonicalJson } from './canonical';
import { AuditEventValidationError, MAX_EVENT_JSON_BYTES, parseAuditEvent, prepareAuditEvent, type AuditEventInput } from './event';

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

describe('events built by Gatehouse code (prepareBuiltAuditEvent)', () => {
  const rich: AuditEventInput = {
    tenant_id: tenant.toUpperCase(),
    event_type: 'inference.response',
    action: 'messages.create',
    outcome: 'success',
    occurred_at: '2026-03-01T10:00:00+02:00',
    session_id: undefined,
    actor: { user_id: randomUUID().toUpperCase(), email: 'ada@example.com', department: 'r\u0000d' },
    origin: { ip: '127.0.0.1', user_agent: 'claude-cli/2.1 \ud800' },
    gen_ai: { operation: 'chat', provider: 'anthropic', request_model: 'claude-sonnet-4-5', input_tokens: 12, finish_reasons: ['end_turn'], stream: false, temperature: 0.5 },
    policy: { decision: 'redact', rule: 'policy.secrets.aws', reason: 'ünïcödé 🦀' },
    cost: { microdollars: 42 },
    error: { type: 'api_error', message: 'x'.repeat(10), status: 502 },
    content_refs: [{ kind: 'prompt', sha256: 'ab'.repeat(32), byte_size: 7 }],
    attributes: { call_id: randomUUID(), 'tags.team': 'a"b\\c\n', failover: false, status: 200 },
  };

  it('completes and serialises an event exactly as the schema does', () => {
    const built = prepareBuiltAuditEvent(rich);
    const checked = prepareAuditEvent({ ...rich, event_id: built.event.event_id, trace_id: built.event.trace_id });
    expect(built.canonical).toBe(checked.canonical);
    expect(built.event).toEqual(checked.event);
    expect(built.event.cost).toEqual({ microdollars: 42, currency: 'USD' });
    expect(built.event.actor?.roles).toEqual([]);
    expect(built.event.origin?.user_agent).toBe('claude-cli/2.1 \ufffd');
    expect('session_id' in built.event).toBe(false);
    expect(canonicalJson(built.event)).toBe(built.canonical);
  });

  it('fills the same defaults and keeps the size limit', () => {
    const event = prepareBuiltAuditEvent(minimal).event;
    expect(event.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(event.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(event.schema_version).toBe(1);
    const oversized = { ...minimal, attributes: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'x'.repeat(4000)])) };
    expect(() => prepareBuiltAuditEvent(oversized)).toThrow(AuditEventValidationError);
  });

  it('fails under test when a builder drifts from the schema', () => {
    expect(() => prepareBuiltAuditEvent({ ...minimal, outcome: 'fine' as 'success' })).toThrow(AuditEventValidationError);
    expect(() => prepareBuiltAuditEvent({ ...minimal, attributes: { nested: { a: 1 } as unknown as string } })).toThrow(AuditEventValidationError);
  });

  describe('without the schema cross-check (as in production)', () => {
    afterEach(() => vi.unstubAllEnvs());

    it.each([-5, 1.5, 1e300, 2 ** 53])('refuses a count of %d as the schema does', (tokens) => {
      vi.stubEnv('VITEST', '');
      const event = { ...rich, gen_ai: { ...rich.gen_ai!, output_tokens: tokens } };
      expect(() => prepareAuditEvent(event)).toThrow(AuditEventValidationError);
      expect(() => prepareBuiltAuditEvent(event)).toThrow(/gen_ai\.output_tokens: must be a non-negative safe integer/);
      expect(() => prepareBuiltAuditEvent({ ...rich, cost: { microdollars: tokens } })).toThrow(/cost\.microdollars/);
      expect(() => prepareBuiltAuditEvent({ ...rich, content_refs: [{ kind: 'prompt', sha256: 'ab'.repeat(32), byte_size: tokens }] })).toThrow(/content_refs\.0\.byte_size/);
    });

    it('refuses what is not in the vocabulary, and attribute keys the schema refuses', () => {
      vi.stubEnv('VITEST', '');
      const refused = (event: AuditEventInput, path: RegExp) => {
        expect(() => prepareAuditEvent(event)).toThrow(AuditEventValidationError);
        expect(() => prepareBuiltAuditEvent(event)).toThrow(path);
      };
      refused({ ...minimal, event_type: 'auth.sign_up' as 'auth.sign_in' }, /event_type/);
      refused({ ...minimal, outcome: 'fine' as 'success' }, /outcome/);
      refused({ ...rich, gen_ai: { ...rich.gen_ai!, operation: 'chant' as 'chat' } }, /gen_ai\.operation/);
      refused({ ...rich, policy: { decision: 'maybe' as 'allow' } }, /policy\.decision/);
      refused({ ...rich, content_refs: [{ kind: 'secret' as 'prompt', sha256: 'ab'.repeat(32), byte_size: 1 }] }, /content_refs\.0\.kind/);
      refused({ ...minimal, attributes: { 'tags.t\u0000am': 'x' } }, /attribute keys are 1-128/);
      refused({ ...minimal, attributes: { 'tags.équipe': 'x' } }, /attribute keys are 1-128/);
      refused({ ...minimal, attributes: { ['k'.repeat(129)]: 'x' } }, /attribute keys are 1-128/);
      const offVocabulary = { ...minimal, target: { type: 'user', ['\ud800']: 'x' } } as unknown as AuditEventInput;
      expect(() => prepareBuiltAuditEvent(offVocabulary)).toThrow(/storable/);
    });

    it('still stores what the schema accepts, byte-identical', () => {
      vi.stubEnv('VITEST', '');
      const event = { ...rich, gen_ai: { ...rich.gen_ai!, output_tokens: Number.MAX_SAFE_INTEGER, input_tokens: 0 } };
      const built = prepareBuiltAuditEvent(event);
      expect(built.canonical).toBe(prepareAuditEvent({ ...event, event_id: built.event.event_id, trace_id: built.event.trace_id }).canonical);
    });
  });
});
