/**
 * Credentials secretlint's recommended rules miss, as rules of its own API so they run in the
 * same findings pipeline (secrets.ts) and redact the same way:
 *
 * - Private keys in PEM form of any kind: PKCS#8 `BEGIN PRIVATE KEY` (ed25519, RSA, EC…),
 *   `BEGIN ENCRYPTED PRIVATE KEY`, OpenSSH, and RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`).
 *   secretlint's rule wants 100 base64 characters (an ed25519 PKCS#8 key has 64) and knows
 *   neither the ENCRYPTED form nor headers.
 * - `aws_secret_access_key = …` and its spellings (`--aws-secret-access-key …`,
 *   `"SecretAccessKey": "…"`, `aws_secret_key: …`). secretlint's pattern needs `_` between the
 *   words and a word boundary after the key, so it misses dashes, and every key that ends in `/`
 *   or `+` (about one in thirty).
 *
 * Both run in time linear in the text, whatever it holds.
 */
import { RE2JS } from 're2js';
import type { SecretLintRuleCreator, SecretLintSourceCode } from '@secretlint/types';

const PEM_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/y;
// RFC 1421 headers of legacy encrypted keys, before the base64.
const PEM_HEADER_LINES = /(?:(?:\s|\\[nr])*[A-Za-z][A-Za-z-]*: [^\n\\]*)*/y;
// Base64 lines; `\n` as two characters too, for a key pasted inside a JSON string.
const PEM_BODY = /(?:[A-Za-z0-9+/=\s]|\\[nr])*/y;
// The body of a key cut off before its END line: base64 and line breaks, no spaces (prose has them).
const PEM_CUT_BODY = /(?:[A-Za-z0-9+/=\r\n]|\\[nr])*/y;
// An ed25519 PKCS#8 key is 64 base64 characters; placeholders (`...`, `<key>`) have none.
const MIN_KEY_BASE64 = 40;

function base64Length(text: string): number {
  return text.replace(/\\[nr]|[^A-Za-z0-9+/=]/g, '').length;
}

function matchAt(regex: RegExp, text: string, at: number): RegExpExecArray | null {
  regex.lastIndex = at;
  return regex.exec(text);
}

/** [start, end) of every PEM private key in `text`, header to END line (or to where its base64 stops). */
export function pemPrivateKeys(text: string): [number, number][] {
  const found: [number, number][] = [];
  // Searched again only once the scan has passed it, so many BEGIN lines cost one pass.
  let nextEnd = -2;
  const begin = new RegExp(PEM_BEGIN);
  for (let match = begin.exec(text); match; match = begin.exec(text)) {
    const bodyStart = matchAt(PEM_HEADER_LINES, text, begin.lastIndex)![0].length + begin.lastIndex;
    if (nextEnd !== -1 && nextEnd < bodyStart) nextEnd = text.indexOf('-----END ', bodyStart);
    // The body runs to the first character base64 cannot hold; a key has its END line right there.
    const body = matchAt(PEM_BODY, text, bodyStart)![0];
    const bodyEnd = bodyStart + body.length;
    const end = bodyEnd === nextEnd ? matchAt(PEM_END, text, nextEnd) : null;
    if (end && base64Length(body) >= MIN_KEY_BASE64) {
      found.push([match.index, nextEnd + end[0].length]);
      begin.lastIndex = nextEnd + end[0].length;
      continue;
    }
    const cut = matchAt(PEM_CUT_BODY, text, bodyStart)![0];
    if (base64Length(cut) >= MIN_KEY_BASE64) {
      found.push([match.index, bodyStart + cut.trimEnd().length]);
      begin.lastIndex = bodyStart + cut.length;
    }
  }
  return found;
}

// Case-insensitive key names, then `=`, `:`, `=>` or plain spaces, then 40 base64 characters.
const AWS_SECRET = RE2JS.compile(
  `(?i)(?:aws[-_. ]?secret[-_. ]?(?:access[-_. ]?)?key|secret[-_. ]?access[-_. ]?key)["']?(?:\\s*(?::|=>|=)\\s*|\\s+)["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)`,
);
// AWS's documentation example, which secretlint deliberately lets through; so does this rule.
const AWS_DOCUMENTED_EXAMPLE = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** [start, end) of the value of every AWS secret access key assignment in `text`. */
export function awsSecretAccessKeys(text: string): [number, number][] {
  // test() runs on RE2's DFA, ten times faster than a matcher (which this case-insensitive pattern
  // sends through the NFA: ~0.9 s per 2 MB prompt, more than all of secretlint's rules together);
  // the matcher only runs on the rare text that holds such a line.
  if (!AWS_SECRET.test(text)) return [];
  const found: [number, number][] = [];
  const matcher = AWS_SECRET.matcher(text);
  while (matcher.find()) {
    if (matcher.group(1) !== AWS_DOCUMENTED_EXAMPLE) found.push([matcher.start(1), matcher.end(1)]);
  }
  return found;
}

function rule(id: string, kind: string, find: (text: string) => [number, number][]): SecretLintRuleCreator {
  const messages = { found: { en: () => `found ${kind}` } };
  return {
    messages,
    meta: { id, type: 'scanner', recommended: true, supportedContentTypes: ['text'] },
    create(context) {
      const t = context.createTranslator(messages);
      return {
        file(source: SecretLintSourceCode) {
          for (const range of find(source.content)) context.report({ message: t('found'), range });
        },
      };
    },
  };
}

/** Named like secretlint's rules for the same secrets, so redactions read `[REDACTED:privatekey]`. */
export const EXTRA_RULES: SecretLintRuleCreator[] = [
  rule('gatehouse/privatekey', 'private key', pemPrivateKeys),
  rule('gatehouse/aws', 'AWS Secret Access Key', awsSecretAccessKeys),
];
