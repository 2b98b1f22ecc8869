import { describe, expect, it } from 'vitest';
import { parseGatehouseConfig } from './parse';
import { policyVersion } from './policy-version';

const version = (text: string) => policyVersion(parseGatehouseConfig(text, 'gatehouse.yaml'));

const original = `
tenant:
  name: Acme
  slug: acme
providers:
  anthropic:
    type: anthropic
    base_url: https://api.anthropic.com
policy:
  blocklist:
    terms: [nightingale]
`;

describe('policyVersion', () => {
  it('is pv_ and 16 hex characters', () => {
    expect(version(original)).toMatch(/^pv_[0-9a-f]{16}$/);
  });

  it('does not change with comments, key order, flow style or spelled-out defaults', () => {
    const reformatted = `# Acme's policy
policy: { blocklist: { terms: ["nightingale"], patterns: [] }, secrets: { mode: redact } }   # unchanged
providers: { anthropic: { base_url: "https://api.anthropic.com", type: anthropic } }
audit:
  partitions_ahead: 2
tenant: { slug: acme, name: Acme }
`;
    expect(version(reformatted)).toBe(version(original));
  });

  it('changes with any semantic edit', () => {
    const base = version(original);
    expect(version(original.replace('nightingale', 'nightjar'))).not.toBe(base);
    expect(version(`${original}  secrets:\n    mode: block\n`)).not.toBe(base);
    expect(version(original.replace('name: Acme', 'name: Acme Inc'))).not.toBe(base);
  });
});
