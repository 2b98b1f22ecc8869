import { RE2JS } from 're2js';

/**
 * `claude-sonnet-*` → ^claude-sonnet-.*$ ; everything but `*` (any run of characters) and `?`
 * (one character) is literal. RE2, because what is matched comes from the client and a glob
 * with several stars would backtrack in a JavaScript RegExp.
 */
export function globToRegExp(glob: string): RE2JS {
  const source = glob
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : RE2JS.quote(char)))
    .join('');
  return RE2JS.compile(`^${source}$`, RE2JS.DOTALL);
}
