import type { z } from 'zod';

/** What a YAML value looks like to a person editing the file. */
function describe(input: unknown): string {
  if (input === null) return 'nothing (null)';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `string ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`;
  if (typeof input === 'number' || typeof input === 'boolean') return String(input);
  return typeof input;
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  int: 'whole number',
};

function bound(origin: string, value: number | bigint, inclusive: boolean | undefined, side: 'min' | 'max'): string {
  if (origin === 'string') return side === 'min' ? (value === 1 ? 'must not be empty' : `must be at least ${value} characters`) : `must be at most ${value} characters`;
  if (origin === 'array') return side === 'min' ? `needs at least ${value} item${value === 1 ? '' : 's'}` : `allows at most ${value} items`;
  const op = side === 'min' ? (inclusive === false ? '>' : '≥') : inclusive === false ? '<' : '≤';
  return `must be ${op} ${value}`;
}

/**
 * Short messages for people editing gatehouse.yaml: the line and field are printed next to them,
 * so they only need to say what is wrong with the value (zod's defaults are written for developers).
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describe(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => String(value)).join(' | ')}`;
    case 'too_small':
      return bound(issue.origin, issue.minimum, issue.inclusive, 'min');
    case 'too_big':
      return bound(issue.origin, issue.maximum, issue.inclusive, 'max');
    case 'invalid_format':
      return issue.format === 'regex' ? undefined : `must be a valid ${issue.format}`;
    default:
      return undefined;
  }
};
