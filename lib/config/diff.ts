/** One difference between two configurations, at a dotted path such as `policy.blocklist.terms[1]`. */
export interface ConfigChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

function flatten(value: unknown, path: string, into: Map<string, string>): void {
  if (Array.isArray(value)) {
    if (value.length === 0) into.set(path, '[]');
    value.forEach((item, index) => flatten(item, `${path}[${index}]`, into));
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && path) into.set(path, '{}');
    for (const [key, item] of entries) flatten(item, path ? `${path}.${key}` : key, into);
  } else if (value !== undefined) {
    into.set(path, JSON.stringify(value));
  }
}

/**
 * What changed between two configuration documents, leaf by leaf, in path order: what the
 * policy page shows for a reload. Values are JSON text, so `"x"` and `1` read as they were set.
 */
export function diffConfigs(before: unknown, after: unknown): ConfigChange[] {
  const left = new Map<string, string>();
  const right = new Map<string, string>();
  flatten(before, '', left);
  flatten(after, '', right);
  const changes: ConfigChange[] = [];
  for (const path of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const was = left.get(path);
    const now = right.get(path);
    if (was === now) continue;
    if (was === undefined) changes.push({ path, change: 'added', after: now! });
    else if (now === undefined) changes.push({ path, change: 'removed', before: was });
    else changes.push({ path, change: 'changed', before: was, after: now });
  }
  return changes;
}
