import { describe, expect, it } from 'vitest';
import { diffConfigs } from './diff';

describe('diffConfigs', () => {
  it('lists added, removed and changed leaves by path', () => {
    const before = { policy: { blocklist: { terms: ['alpha'], patterns: [] }, secrets: { mode: 'redact' } }, routes: [{ model: 'a' }] };
    const after = { policy: { blocklist: { terms: ['alpha', 'project-nightingale'], patterns: [] }, secrets: { mode: 'block' } }, routes: [] };
    expect(diffConfigs(before, after)).toEqual([
      { path: 'policy.blocklist.terms[1]', change: 'added', after: '"project-nightingale"' },
      { path: 'policy.secrets.mode', change: 'changed', before: '"redact"', after: '"block"' },
      { path: 'routes', change: 'added', after: '[]' },
      { path: 'routes[0].model', change: 'removed', before: '"a"' },
    ]);
    expect(diffConfigs(after, after)).toEqual([]);
  });
});
