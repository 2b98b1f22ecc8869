// Argument conditions: a path into the call's arguments and a test. Anything that cannot be
// answered (no arguments, a missing value for eq/neq/in/matches, a non-string for matches, a
// malformed path) is "unknown", and the evaluator treats an unknown condition as a block.
import { canonicalJson } from '@/lib/audit/canonical';
import { globMatches } from './glob';
import type { ArgumentCondition } from './types';

export type ConditionOutcome = 'holds' | 'fails' | 'unknown';

const ABSENT = Symbol('absent');
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `/a/b~1c/0` (RFC 6901) or `a.b.0`; null when the path is malformed. */
export function pathSegments(path: string): string[] | null {
  if (path.startsWith('/')) {
    const segments = path.slice(1).split('/');
    if (segments.some((segment) => /~(?![01])/.test(segment))) return null;
    return segments.map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  }
  const segments = path.split('.');
  return segments.every((segment) => segment.length > 0) ? segments : null;
}

function resolve(value: unknown, segments: string[]): unknown {
  let current: unknown = value;
  for (const segment of segments) {
    if (UNSAFE_KEYS.has(segment)) return ABSENT;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(segment)) return ABSENT;
      const index = Number(segment);
      if (index >= current.length) return ABSENT;
      current = current[index];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.hasOwn(current, segment)) return ABSENT;
      current = (current as Record<string, unknown>)[segment];
    } else {
      return ABSENT;
    }
  }
  return current === undefined ? ABSENT : current;
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

/** Whether one condition holds for the call's arguments (undefined: no call, nothing to test). */
export function evaluateArgumentCondition(condition: ArgumentCondition, args: unknown): ConditionOutcome {
  if (args === undefined || args === null || typeof args !== 'object') return 'unknown';
  const segments = pathSegments(condition.path);
  if (!segments) return 'unknown';
  const found = resolve(args, segments);
  if (condition.op === 'exists') return (found !== ABSENT) === (condition.value !== false) ? 'holds' : 'fails';
  if (found === ABSENT) return 'unknown';
  switch (condition.op) {
    case 'eq':
      return sameJson(found, condition.value) ? 'holds' : 'fails';
    case 'neq':
      return sameJson(found, condition.value) ? 'fails' : 'holds';
    case 'in':
      if (!Array.isArray(condition.value)) return 'unknown';
      return condition.value.some((candidate) => sameJson(found, candidate)) ? 'holds' : 'fails';
    case 'matches':
      if (typeof condition.value !== 'string' || typeof found !== 'string') return 'unknown';
      return globMatches(condition.value, found) ? 'holds' : 'fails';
  }
}
