import AhoCorasick from 'modern-ahocorasick';
import { RE2JS } from 're2js';
import { patternView, plainTermView, skeletonTermView } from './normalize';

/**
 * Blocked terms and patterns from gatehouse.yaml `policy.blocklist`, compiled once per policy
 * version. Terms: Aho–Corasick automata, matched on whole words in two views of the text (see
 * normalize.ts): the plain view (case, width, invisible characters, marks and separators folded)
 * and the confusables skeleton (look-alike letters folded too). Patterns: RE2 (re2js), linear
 * in the text, so no prompt can make a pattern backtrack; each runs on the raw text and on the
 * pattern view (look-alikes and invisible characters folded, ASCII and case as written).
 */
export interface BlocklistHit {
  /** The rule that fired, e.g. `policy.blocklist.terms[2]`; never the matched text. */
  rule: string;
}

// Word characters need a boundary next to them. Scripts written without spaces between words
// (Chinese, Japanese, Thai…) do not: a term there is matched wherever it occurs.
const WORD = /[\p{L}\p{N}_]/u;
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

const ASCII_WORD = Uint8Array.from({ length: 0x80 }, (_, codePoint) => (WORD.test(String.fromCharCode(codePoint)) ? 1 : 0));
// Prompts use few distinct non-ASCII characters; classifying each once keeps a 1 MB scan linear and cheap.
const classified = new Map<number, boolean>();

function isWordCodePoint(codePoint: number): boolean {
  if (codePoint < 0x80) return ASCII_WORD[codePoint] === 1;
  let known = classified.get(codePoint);
  if (known === undefined) {
    const char = String.fromCodePoint(codePoint);
    known = WORD.test(char) && !UNSPACED.test(char);
    // At most every code point of Unicode; in practice a few thousand.
    classified.set(codePoint, known);
  }
  return known;
}

const OPEN = '\u0001';
const CLOSE = '\u0002';
const NEEDS_SPELLING = /[^\u0000\u0003-\u007f]/u;
const NEEDS_SPELLING_ALL = /[^\u0000\u0003-\u007f]/gu;

function spell(char: string): string {
  const codePoint = char.codePointAt(0)!;
  return codePoint < 0x80 ? ' ' : `${OPEN}${codePoint.toString(16)}${CLOSE}`;
}

/**
 * The folded text spelt in ASCII: every non-ASCII code point becomes `\x01<hex>\x02`. The
 * automaton then only ever sees ASCII, which it scans in linear time; on non-ASCII input it
 * segments graphemes with Intl.Segmenter, which is quadratic in the text length on Node 20 (a
 * 1 MB prompt of emoji would take minutes). Terms are spelt the same way, so matches are
 * unchanged; characters 1 and 2 in the text become spaces so it cannot fake a spelling.
 */
function encode(folded: string): string {
  return NEEDS_SPELLING.test(folded) ? folded.replace(NEEDS_SPELLING_ALL, spell) : folded;
}

/** Whether the code point spelt just before `end` (exclusive) in encoded text is a word character. */
function wordBefore(encoded: string, end: number): boolean {
  if (end <= 0) return false;
  const code = encoded.charCodeAt(end - 1);
  if (code !== 2) return isWordCodePoint(code);
  const open = encoded.lastIndexOf(OPEN, end - 1);
  return isWordCodePoint(parseInt(encoded.slice(open + 1, end - 1), 16));
}

/** Whether the code point spelt from `start` in encoded text is a word character. */
function wordAt(encoded: string, start: number): boolean {
  if (start >= encoded.length) return false;
  const code = encoded.charCodeAt(start);
  if (code !== 1) return isWordCodePoint(code);
  const close = encoded.indexOf(CLOSE, start);
  return isWordCodePoint(parseInt(encoded.slice(start + 1, close), 16));
}

interface TermData {
  rule: string;
  /** Whether the term starts / ends with a word character, so needs a boundary there. */
  boundedStart: boolean;
  boundedEnd: boolean;
}

type TermAutomaton = AhoCorasick<TermData>;

function automaton(terms: readonly string[], view: (text: string) => string): TermAutomaton | null {
  const entries = terms.flatMap((term, index) => {
    const folded = view(term).trim();
    if (!folded) return [];
    const codePoints = Array.from(folded, (char) => char.codePointAt(0)!);
    const first = codePoints[0]!;
    const last = codePoints.at(-1)!;
    return [{ pattern: encode(folded), data: { rule: `policy.blocklist.terms[${index}]`, boundedStart: isWordCodePoint(first), boundedEnd: isWordCodePoint(last) } }];
  });
  return entries.length ? new AhoCorasick<TermData>(entries) : null;
}

/** The first term of the automaton found as a whole word in the (already folded) text. */
function findTerm(terms: TermAutomaton, folded: string): BlocklistHit | null {
  const encoded = encode(folded);
  // Terms are spelt whole, so every match starts and ends on a code point of the text.
  for (const match of terms.iterate(encoded)) {
    const data = match.data!;
    if ((data.boundedStart && wordBefore(encoded, match.start)) || (data.boundedEnd && wordAt(encoded, match.end))) continue;
    return { rule: data.rule };
  }
  return null;
}

export class Blocklist {
  private readonly plainTerms: TermAutomaton | null;
  private readonly skeletonTerms: TermAutomaton | null;
  private readonly patterns: { rule: string; regex: RE2JS }[];

  constructor(terms: readonly string[], patterns: readonly string[]) {
    this.plainTerms = automaton(terms, plainTermView);
    this.skeletonTerms = automaton(terms, skeletonTermView);
    // The config loader has compiled every pattern already; compile errors cannot happen here.
    this.patterns = patterns.map((pattern, index) => ({ rule: `policy.blocklist.patterns[${index}]`, regex: RE2JS.compile(pattern) }));
  }

  get empty(): boolean {
    return this.plainTerms === null && this.patterns.length === 0;
  }

  /** The first rule the text breaks, or null. */
  check(text: string): BlocklistHit | null {
    // Both views: the skeleton folds more, but reads `|` and `1` as letters, which can join a
    // term to its neighbour (`|secret|`) where the plain view still sees a word boundary.
    const term = (this.plainTerms && findTerm(this.plainTerms, plainTermView(text))) ?? (this.skeletonTerms && findTerm(this.skeletonTerms, skeletonTermView(text)));
    if (term) return term;
    if (this.patterns.length === 0) return null;
    const visible = patternView(text);
    for (const { rule, regex } of this.patterns) {
      // test() runs on RE2's DFA: several times faster than a matcher, and a yes or no is all we need.
      if (regex.test(text) || (visible !== text && regex.test(visible))) return { rule };
    }
    return null;
  }
}
