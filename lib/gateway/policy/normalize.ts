/**
 * How the blocklist sees text, so a term or pattern cannot be dodged by writing it differently:
 *
 * - Compatibility forms are decomposed (NFKD): full-width `ＣＵＳＴ`, ligatures, mathematical
 *   letters and circled digits become their plain letters.
 * - Invisible characters are dropped: default-ignorable code points (zero-width space and
 *   joiners, soft hyphen, variation selectors), every other format character (Cf: bidi controls,
 *   tags, U+FEFF…), control characters that are not white space (NUL, backspace, ESC, DEL, the
 *   C1 controls) and combining marks (Mn, Me), so `p̲r̲o̲j̲e̲c̲t`, `pro\u00ADject`,
 *   `pro\u200Bject` and `pro\u0000ject` read `project`. Accents go with the marks: `résumé`
 *   reads `resume`.
 * - For terms, case is folded (`ß` is `ss`), and every run of spaces, dashes, underscores and
 *   other separators reads as one space: `top_secret`, `top–secret` and `top secret` are alike.
 * - The skeleton view also maps every character to its prototype in Unicode's confusables table
 *   (UTS #39, vendored under ./unicode), repeatedly until nothing changes, so Cyrillic `СЕСRЕТ`,
 *   Greek `ΑΙ` and `0`/`1` for `o`/`l` read like the Latin letters they imitate. Prototypes are
 *   looked up for a character and for its upper case, which is what lets the skeleton ignore
 *   case (Cyrillic `н` has no prototype, but `Н` has `H`).
 *
 * Every step maps one code point to a fixed string, so a text's view is the concatenation of
 * its code points' views: computed once per distinct code point and cached, linear in the text.
 */
import table from './unicode/confusables.json';

// Default_Ignorable_Code_Point covers the zero-width characters and the soft hyphen; Cf adds
// the remaining format characters; Cc minus White_Space the controls a model reads past
// (`fal\u0008con`); Mn/Me are the marks that draw on a neighbour.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Mn}\p{Me}]|(?!\p{White_Space})\p{Cc}/gu;
const SEPARATOR = /^[\s\p{White_Space}\p{Z}\p{Pd}\p{Pc}\u2212]$/u;
const DASH = /^[\p{Pd}\u2212]$/u;
const SPACE = /^\p{Zs}$/u;
const LINE_BREAK = /^[\p{Zl}\p{Zp}]$/u;
const CONNECTOR = /^\p{Pc}$/u;

let prototypes: Map<number, string> | undefined;

/** Code point → prototype string, from confusables.json (built on first use). */
function prototypeTable(): Map<number, string> {
  if (!prototypes) {
    prototypes = new Map();
    for (const [source, prototype] of table.prototypes as [string, string][]) {
      prototypes.set(parseInt(source, 16), String.fromCodePoint(...prototype.split(' ').map((hex) => parseInt(hex, 16))));
    }
  }
  return prototypes;
}

function decompose(text: string): string {
  return text.normalize('NFKD').replace(INVISIBLE, '');
}

/** Full case folding, closely enough: upper then lower case turns `ß` into `ss` and `ς` into `σ`. */
function foldCase(text: string): string {
  return decompose(text.toUpperCase().toLowerCase());
}

function separatorsToSpace(text: string): string {
  let out = '';
  for (const char of text) out += SEPARATOR.test(char) ? ' ' : char;
  return out;
}

/** The prototype of a character, or of its upper case when only that has one. */
function prototypeOf(char: string): string | undefined {
  const table = prototypeTable();
  const own = table.get(char.codePointAt(0)!);
  if (own !== undefined) return own;
  const upper = char.toUpperCase();
  return upper !== char && upper.length === char.length ? table.get(upper.codePointAt(0)!) : undefined;
}

// A few rounds settle every code point (the table maps to prototypes, which mostly map nowhere);
// the bound only guards against a cycle a future table might bring.
const MAX_ROUNDS = 8;

function untilStable(start: string, step: (text: string) => string): string {
  let current = start;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = step(current);
    if (next === current) break;
    current = next;
  }
  return current;
}

// Folding again until nothing changes: `ẞ` lowers to `ß`, which folds to `ss`.
function plainTermOf(char: string): string {
  return untilStable(decompose(char), (text) => separatorsToSpace(foldCase(text)));
}

// Prototypes first, case after: Cyrillic `Т` has the prototype `T`, its lower case `т` another one.
function skeletonTermOf(char: string): string {
  return untilStable(decompose(char), (text) => {
    let mapped = '';
    for (const part of text) mapped += prototypeOf(part) ?? part;
    return separatorsToSpace(foldCase(mapped));
  });
}

/** Patterns keep ASCII and case as written; other characters become what they imitate. */
function patternOf(char: string): string {
  if (char.charCodeAt(0) < 0x80) return asciiPattern(char);
  return untilStable(decompose(char), (text) => {
    let out = '';
    for (const part of text) {
      if (part.charCodeAt(0) < 0x80) out += part;
      else if (DASH.test(part)) out += '-';
      else if (SPACE.test(part)) out += ' ';
      else if (LINE_BREAK.test(part)) out += '\n';
      else if (CONNECTOR.test(part)) out += '_';
      else out += prototypeTable().get(part.codePointAt(0)!) ?? part;
    }
    return decompose(out);
  });
}

// Below this length an ASCII run is cheaper character by character than through string methods.
const SHORT_RUN = 24;

/**
 * A per-code-point view. Long ASCII runs go through `asciiRun` (native string operations: most
 * prompts are mostly ASCII), short ones through a table; other code points through a bounded
 * cache (a prompt of every code point must not grow it without end).
 */
class CodePointView {
  private readonly ascii: string[];
  private readonly cache = new Map<number, string>();

  constructor(
    private readonly of: (char: string) => string,
    private readonly asciiRun: (run: string) => string,
    private readonly maxCached = 65_536,
  ) {
    this.ascii = Array.from({ length: 0x80 }, (_, code) => of(String.fromCharCode(code)));
  }

  private asciiSlice(text: string, from: number, to: number): string {
    if (to - from >= SHORT_RUN) return this.asciiRun(text.slice(from, to));
    let out = '';
    for (let index = from; index < to; index++) out += this.ascii[text.charCodeAt(index)];
    return out;
  }

  private codePoint(codePoint: number): string {
    let view = this.cache.get(codePoint);
    if (view === undefined) {
      view = this.of(String.fromCodePoint(codePoint));
      if (this.cache.size < this.maxCached) this.cache.set(codePoint, view);
    }
    return view;
  }

  apply(text: string): string {
    let out = '';
    let runStart = 0;
    for (let index = 0; index < text.length; index++) {
      if (text.charCodeAt(index) < 0x80) continue;
      if (index > runStart) out += this.asciiSlice(text, runStart, index);
      const codePoint = text.codePointAt(index)!;
      out += this.codePoint(codePoint);
      if (codePoint > 0xffff) index += 1;
      runStart = index + 1;
    }
    return runStart === 0 ? this.asciiRun(text) : out + this.asciiSlice(text, runStart, text.length);
  }

  /** Whether `asciiRun` and the per-character views agree on every ASCII character (they must). */
  consistent(): boolean {
    return this.ascii.every((view, code) => this.asciiRun(String.fromCharCode(code)) === view);
  }
}

// ASCII separators other than the space itself: replacing each space of a prompt by a space
// made this the slowest step of the blocklist (~0.2 s per 2 MB view) for nothing.
const ASCII_SEPARATORS = /[\t\n\v\f\r\-_]/g;
// ASCII controls that are not white space (see INVISIBLE).
const ASCII_CONTROLS = /[\x00-\x08\x0e-\x1f\x7f]/g;

function withoutControls(run: string): string {
  ASCII_CONTROLS.lastIndex = 0;
  return ASCII_CONTROLS.test(run) ? run.replace(ASCII_CONTROLS, '') : run;
}

function plainAscii(run: string): string {
  return withoutControls(run).toLowerCase().replace(ASCII_SEPARATORS, ' ');
}

/** ASCII as patterns see it: as written, invisible controls dropped. */
function asciiPattern(run: string): string {
  return withoutControls(run);
}

/** The ASCII characters the skeleton changes after case folding (`0`, `1`, `i`, `m`, `|`…), and into what. */
function asciiSkeleton(): (run: string) => string {
  const replacements = new Map<string, string>();
  for (let code = 0; code < 0x80; code++) {
    const char = String.fromCharCode(code);
    const skeleton = skeletonTermOf(char);
    const plain = plainAscii(char);
    // Both hold for every ASCII character; the checks keep a future table from breaking them quietly.
    if (plain.length > 1 || plain !== plainTermOf(char)) throw new Error(`ASCII ${code} does not fold to at most one character`);
    // A control is dropped before the replacements run: it has no skeleton of its own.
    if (plain === '') {
      if (skeleton !== '') throw new Error(`ASCII ${code} is dropped in one view and not the other`);
      continue;
    }
    if ((replacements.get(plain) ?? skeleton) !== skeleton) throw new Error(`ASCII ${code} and another character share a case but not a skeleton`);
    if (skeleton !== plain) replacements.set(plain, skeleton);
  }
  const changed = new RegExp(`[${[...replacements.keys()].map((char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}]`, 'g');
  return (run) => plainAscii(run).replace(changed, (char) => replacements.get(char)!);
}

const plainTerms = new CodePointView(plainTermOf, plainAscii);
const skeletonTerms = new CodePointView(skeletonTermOf, asciiSkeleton());
const patterns = new CodePointView(patternOf, asciiPattern);

/** For the tests: every view treats ASCII the same on its fast path as character by character. */
export function asciiFastPathsAgree(): boolean {
  return plainTerms.consistent() && skeletonTerms.consistent() && patterns.consistent();
}

const SPACE_RUN = / {2,}/g;

function collapseSpaces(text: string): string {
  return text.includes('  ') ? text.replace(SPACE_RUN, ' ') : text;
}

/** Case-folded text with invisible characters dropped and separators as single spaces. */
export function plainTermView(text: string): string {
  return collapseSpaces(plainTerms.apply(text));
}

/** The plain view, with every character replaced by its confusables prototype. */
export function skeletonTermView(text: string): string {
  return collapseSpaces(skeletonTerms.apply(text));
}

/**
 * What RE2 patterns see besides the raw text: ASCII untouched (so case and digits mean what the
 * pattern says), other characters decomposed, invisible ones dropped, dashes, spaces and
 * connectors as their ASCII forms, and look-alike letters as the letters they imitate.
 */
export function patternView(text: string): string {
  return patterns.apply(text);
}

/** The Unicode version of the confusables table in use. */
export const CONFUSABLES_VERSION = table.version;
