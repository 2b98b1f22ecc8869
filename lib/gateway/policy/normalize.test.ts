import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Blocklist } from './blocklist';
import { asciiFastPathsAgree, patternView, plainTermView, skeletonTermView } from './normalize';
import table from './unicode/confusables.json';
import { parseConfusables } from './unicode/parse';

const blocklist = new Blocklist(['project-nightingale', 'top secret', 'Falcon'], ['\\bCUST-\\d{6}\\b', 'ACME-[A-Z]{3}']);

const ZWSP = '\u200B';
const ZWNJ = '\u200C';
const WORD_JOINER = '\u2060';
const SOFT_HYPHEN = '\u00AD';
const LOW_LINE = '\u0332';
const RTL_OVERRIDE = '\u202E';

describe('blocklist terms after normalisation', () => {
  // [how it is disguised, text]: every one must still hit the term.
  const disguised: [string, string, string][] = [
    ['Cyrillic look-alikes', 'about рrојесt-nіghtіngаlе', 'policy.blocklist.terms[0]'],
    ['Greek and Cyrillic capitals', 'ΤОР SΕСRΕΤ memo', 'policy.blocklist.terms[1]'],
    ['digits for letters', 'the fa1c0n file', 'policy.blocklist.terms[2]'],
    ['mathematical bold', '𝐅𝐚𝐥𝐜𝐨𝐧 plans', 'policy.blocklist.terms[2]'],
    ['full width', 'ｐｒｏｊｅｃｔ－ｎｉｇｈｔｉｎｇａｌｅ', 'policy.blocklist.terms[0]'],
    ['circled letters', 'ⓕⓐⓛⓒⓞⓝ', 'policy.blocklist.terms[2]'],
    ['zero-width space', `pro${ZWSP}ject-night${ZWSP}ingale`, 'policy.blocklist.terms[0]'],
    ['zero-width non-joiner and word joiner', `Fal${ZWNJ}c${WORD_JOINER}on`, 'policy.blocklist.terms[2]'],
    ['bidi override (format character)', `Fal${RTL_OVERRIDE}con`, 'policy.blocklist.terms[2]'],
    ['soft hyphens', `top se${SOFT_HYPHEN}cret`, 'policy.blocklist.terms[1]'],
    ['combining low line under every letter', [...'falcon'].map((char) => `${char}${LOW_LINE}`).join(''), 'policy.blocklist.terms[2]'],
    ['accents', 'fálcön', 'policy.blocklist.terms[2]'],
    ['control characters (NUL, backspace, ESC, DEL, a C1 control)', 'fal\u0000c\u0008o\u001b\u007f\u009bn', 'policy.blocklist.terms[2]'],
    ['underscore for the dash', 'PROJECT_NIGHTINGALE', 'policy.blocklist.terms[0]'],
    ['space for the dash', 'project nightingale', 'policy.blocklist.terms[0]'],
    ['en dash', 'project–nightingale', 'policy.blocklist.terms[0]'],
    ['minus sign', 'project−nightingale', 'policy.blocklist.terms[0]'],
    ['dash for the space', 'top-secret', 'policy.blocklist.terms[1]'],
    ['em space and no-break space', 'top\u2003\u00A0secret', 'policy.blocklist.terms[1]'],
    ['newline between the words', 'top\nsecret', 'policy.blocklist.terms[1]'],
    ['everything at once', `Т${ZWSP}О${SOFT_HYPHEN}Р_ѕ${LOW_LINE}е${WORD_JOINER}сrеt`, 'policy.blocklist.terms[1]'],
  ];
  it.each(disguised)('%s', (_how, text, rule) => {
    expect(blocklist.check(text)).toEqual({ rule });
  });

  // Still whole words: folding must not make a term match inside another word.
  const innocent = ['falconry', 'topsecret', 'project-nightingales', 'xfalcon', 'fa1c0nry', `fal${ZWSP}conry`, 'nothing to see'];
  it.each(innocent)('leaves %j alone', (text) => {
    expect(blocklist.check(text)).toBeNull();
  });

  it('still sees a word boundary the skeleton would hide (| reads as l)', () => {
    expect(blocklist.check('|falcon|')).toEqual({ rule: 'policy.blocklist.terms[2]' });
  });
});

describe('blocklist patterns after normalisation', () => {
  const disguised: [string, string, string][] = [
    ['full width', 'ticket ＣＵＳＴ－１２３４５６', 'policy.blocklist.patterns[0]'],
    ['Cyrillic С for C', 'ticket СUST-123456', 'policy.blocklist.patterns[0]'],
    ['zero-width space inside', `ticket CUST${ZWSP}-123456`, 'policy.blocklist.patterns[0]'],
    ['soft hyphen inside', `ticket CU${SOFT_HYPHEN}ST-123456`, 'policy.blocklist.patterns[0]'],
    ['control characters inside', 'ticket CU\u0000ST-12\u0008345\u007f6', 'policy.blocklist.patterns[0]'],
    ['en dash', 'ticket CUST–123456', 'policy.blocklist.patterns[0]'],
    ['combining marks', `ACME-${'X'}${LOW_LINE}YZ`, 'policy.blocklist.patterns[1]'],
  ];
  it.each(disguised)('%s', (_how, text, rule) => {
    expect(blocklist.check(text)).toEqual({ rule });
  });

  it('keeps case and digits as the pattern means them (ASCII is matched as written)', () => {
    expect(blocklist.check('cust-123456')).toBeNull();
    expect(blocklist.check('CUST-I23456')).toBeNull();
    expect(patternView('CUST-123456 Falcon')).toBe('CUST-123456 Falcon');
  });
});

describe('normalised views', () => {
  it('fold case, width, invisible characters and separators in the plain view', () => {
    expect(plainTermView(`ＴＯＰ${ZWSP}_–SECRET Straße`)).toBe('top secret strasse');
    expect(plainTermView('STRAẞE')).toBe(plainTermView('Straße'));
  });

  it('map look-alikes to their prototypes in the skeleton, whatever their case', () => {
    expect(skeletonTermView('НЕLLО')).toBe(skeletonTermView('hello'));
    expect(skeletonTermView('AI')).toBe(skeletonTermView('ai'));
    expect(skeletonTermView('ΑΙ')).toBe(skeletonTermView('ai'));
  });

  it('agree with themselves on ASCII, whether fast path or character by character', () => {
    expect(asciiFastPathsAgree()).toBe(true);
    const sample = 'Mixed ASCII run that is long enough for the fast path 0123 |I| and é short';
    expect(skeletonTermView(sample)).toBe([...sample].map((char) => skeletonTermView(char)).join('').replace(/ {2,}/g, ' '));
  });

  it('stay linear on 1 MB of non-ASCII text and of invisible characters', () => {
    const started = performance.now();
    expect(blocklist.check(`${'😀 Ünïcödé '.repeat(100_000)} top secret`)).toEqual({ rule: 'policy.blocklist.terms[1]' });
    expect(blocklist.check(`${ZWSP}${SOFT_HYPHEN}`.repeat(500_000))).toBeNull();
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('the confusables table', () => {
  it('is the one generated from the vendored Unicode confusables.txt (run scripts/confusables-table.ts after replacing it)', () => {
    const directory = path.dirname(fileURLToPath(import.meta.url));
    const parsed = parseConfusables(readFileSync(path.join(directory, 'unicode/confusables.txt'), 'utf8'));
    expect(table.sha256).toBe(parsed.sha256);
    expect(table.prototypes).toEqual(parsed.prototypes);
    expect(table.version).toBe('17.0.0');
  });
});
