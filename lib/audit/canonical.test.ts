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
