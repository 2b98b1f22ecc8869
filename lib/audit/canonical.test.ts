import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, chainHash, GENESIS_HASH } from './canonical';
import { parseAuditEvent, type AuditEvent } from './event';

const event: AuditEvent = parseAuditEvent({
  tenant_id: randomUUID(),
  event_type: 'inference.response',
  action: 'messages.create',
  outcome: 'success',
  actor: { user_id: randomUUID(), email: 'ada@example.com', roles: ['member', 'author'] },
  gen_ai: { operation: 'chat', provider: 'anthropic', input_tokens: 10, output_tokens: 20, finish_reasons: ['end_turn'] },
  cost: { microdollars: 1234 },
  attributes: { ratio: 0.5, flag: true, note: 'é ✓ 😀' },
});

/** Every leaf path of a JSON object, for editing each field in turn. */
function leafPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => leafPaths(child, [...prefix, Array.isArray(value) ? Number(key) : key]));
  }
  return [prefix];
}

function edited(path: (string | number)[]): AuditEvent {
  const copy = structuredClone(event) as unknown as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const old = node[last];
  node[last] = typeof old === 'number' ? old + 1 : typeof old === 'boolean' ? !old : `${String(old)}x`;
  return copy as unknown as AuditEvent;
}

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and fixes number and string forms', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: true, c: null }], é: 'x', Z: 1e21, n: -0, f: 1.5e-7 })).toBe(
      '{"Z":1e+21,"a":[3,{"c":null,"d":true}],"b":1,"f":1.5e-7,"n":0,"é":"x"}',
    );
  });

  it('does not depend on key order', () => {
    const reversed = Object.fromEntries(Object.entries(event).reverse());
    expect(canonicalJson(reversed)).toBe(canonicalJson(event));
    expect(canonicalJson(JSON.parse(JSON.stringify(event)))).toBe(canonicalJson(event));
  });
});

/** Computed with canonicalize 5.1.0 before the pin to 4.0.0 (Node 20): the bytes every stored chain hash depends on. */
describe('canonical bytes pinned across canonicalize versions', () => {
  it('matches the RFC 8785 section 3.2.2 example byte for byte', () => {
    const input = JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}');
    expect(canonicalJson(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts by UTF-16 code unit, escapes control characters and serialises dates as before', () => {
    const value = { z: [1, { b: null, a: 'x', when: new Date(0) }], é: 1, Z: 2, '\u{1F600}': 'a', '\uFFFF': 'b', e: [], o: {}, u: undefined, s: 'tab\tnl\ncr\r\u0001\u007f\u2028' };
    expect(canonicalJson(value)).toBe('{"Z":2,"e":[],"o":{},"s":"tab\\tnl\\ncr\\r\\u0001\u007f\u2028","z":[1,{"a":"x","b":null,"when":"1970-01-01T00:00:00.000Z"}],"é":1,"😀":"a","\uFFFF":"b"}');
  });

  it('gives the same chain hash for a fixed event', () => {
    const fixed = parseAuditEvent({
      event_id: '01a2224b-f0a6-7763-a3e8-a92795395560',
      trace_id: '69c9b0c74c1cc23e188dd026c1bb8ce0',
      tenant_id: '6f1c2a4e-0b7d-4c1e-9a53-2f7e8d9c0b1a',
      occurred_at: '2026-01-02T03:04:05.678Z',
      event_type: 'inference.response',
      action: 'messages.create',
      outcome: 'success',
      actor: { user_id: '0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b', email: 'ada@example.com', roles: ['member', 'author'] },
      gen_ai: { operation: 'chat', provider: 'anthropic', input_tokens: 10, output_tokens: 20, finish_reasons: ['end_turn'] },
      cost: { microdollars: 1234 },
      attributes: { ratio: 0.5, flag: true, note: 'é ✓ 😀', big: 1e21, tiny: 1.5e-7, neg: -0 },
    });
    expect(chainHash(GENESIS_HASH, 7, fixed).toString('hex')).toBe('5a2563931d763384f35d93f5093dd79b607e2546ec8483e443182566e0e0e70d');
  });
});

describe('chainHash', () => {
  it('is SHA-256 over prev_hash followed by the canonical {seq, event}', () => {
    const expected = createHash('sha256').update(GENESIS_HASH).update(canonicalJson({ seq: 1, event })).digest();
    expect(chainHash(GENESIS_HASH, 1, event).equals(expected)).toBe(true);
    expect(chainHash(GENESIS_HASH, 1n, event).equals(expected)).toBe(true);
  });

  it('changes when any field, the seq or the previous hash changes', () => {
    const original = chainHash(GENESIS_HASH, 7, event).toString('hex');
    const paths = leafPaths(event);
    expect(paths.length).toBeGreaterThan(20);
    for (const path of paths) expect(chainHash(GENESIS_HASH, 7, edited(path)).toString('hex'), path.join('.')).not.toBe(original);
    expect(chainHash(GENESIS_HASH, 8, event).toString('hex')).not.toBe(original);
    expect(chainHash(Buffer.alloc(32, 1), 7, event).toString('hex')).not.toBe(original);
  });

  it('refuses malformed chain positions', () => {
    expect(() => chainHash(Buffer.alloc(31), 1, event)).toThrow(/32 bytes/);
    expect(() => chainHash(GENESIS_HASH, 0, event)).toThrow(/positive/);
  });
});
