import type { RE2JS } from 're2js';
import { globToRegExp } from '@/lib/gateway/policy/glob';

// Rule globs are few and reused on every call: compiled once (RE2, so a pattern with many stars
// cannot backtrack; everything but * and ? is literal).
const compiled = new Map<string, RE2JS>();
const MAX_COMPILED = 5_000;

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

export function globMatches(pattern: string, value: string): boolean {
  if (!isGlob(pattern)) return pattern === value;
  let regex = compiled.get(pattern);
  if (!regex) {
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    regex = globToRegExp(pattern);
    compiled.set(pattern, regex);
  }
  return regex.matches(value);
}
