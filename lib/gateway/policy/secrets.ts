import { creator as anthropicRule } from '@secretlint/secretlint-rule-anthropic';
import { creator as openaiRule } from '@secretlint/secretlint-rule-openai';
import { rules as recommendedRules } from '@secretlint/secretlint-rule-preset-recommend';
import type {
  SecretLintRuleContext,
  SecretLintRuleCreator,
  SecretLintRuleLocalizeMessages,
  SecretLintRuleMessageTranslate,
  SecretLintRuleReportDescriptor,
  SecretLintSourceCode,
  SecretLintSourceNodeLocation,
  SecretLintSourceNodePosition,
  SecretLintSourceNodeRange,
} from '@secretlint/types';
import { EXTRA_RULES } from './secret-rules';

/** One credential found in a piece of text; never carries the credential itself. */
export interface SecretFinding {
  start: number;
  end: number;
  /** Short rule name, e.g. `aws`, `anthropic`: what `[REDACTED:<rule>]` and audit events name. */
  rule: string;
  /** What kind of secret, in words, e.g. `AWS Access Key ID`, for the person who sent it. */
  kind: string;
}

/**
 * secretlint's rule corpus (plus the rules of secret-rules.ts for what it misses), run through its rule API (the interface rules are written against)
 * rather than through lintSource(): lintSource removes duplicate reports with a quadratic pass,
 * so a prompt stuffed with thousands of fake tokens would stall the gateway for seconds, and it
 * honours `secretlint-disable` comments, which would let a prompt switch the scan off.
 */
const RULE_OPTIONS: Record<string, object> = {
  // Access key ids (AKIA…) are the credential people paste most; secretlint skips them by default.
  '@secretlint/secretlint-rule-aws': { enableIDScanRule: true },
};
const EXCLUDED_RULES = new Set(['@secretlint/secretlint-rule-filter-comments']);

function corpus(): SecretLintRuleCreator[] {
  const selected = (recommendedRules as SecretLintRuleCreator[]).filter((rule) => !EXCLUDED_RULES.has(rule.meta.id));
  const ids = new Set(selected.map((rule) => rule.meta.id));
  // The preset bundles the Anthropic and OpenAI rules in recent versions; add them when it does not.
  for (const rule of [anthropicRule, openaiRule] as SecretLintRuleCreator[]) if (!ids.has(rule.meta.id)) selected.push(rule);
  return [...selected, ...EXTRA_RULES];
}

const RULES = corpus();

function shortName(ruleId: string): string {
  return ruleId.replace(/^@secretlint\/secretlint-rule-|^gatehouse\//, '');
}

/**
 * The range that covers the secret itself. Some secretlint rules report the length of the
 * secret from where the whole match starts (`aws_secret_access_key = <key>`, `_authToken=<token>`,
 * `https://<token>:x-oauth-basic@github.com`), which would leave the end of the secret in the
 * clear; the secret they name in the message says where it really is.
 */
function secretRange(text: string, [start, end]: readonly [number, number], named: unknown): [number, number] {
  if (typeof named !== 'object' || named === null) return [start, end];
  const reported = text.slice(start, end);
  for (const value of Object.values(named)) {
    if (typeof value !== 'string' || value.length < 8 || reported.includes(value)) continue;
    const at = text.indexOf(value, start);
    // The prefix before a secret is a key name or a URL scheme: short.
    if (at !== -1 && at - start <= 256) return [at, at + value.length];
  }
  return [start, end];
}

/**
 * The rule's English message with every value blanked, cut before the colon that introduces
 * the matched text: "found AWS Access Key ID: <id>" gives "AWS Access Key ID".
 */
function describe(messages: SecretLintRuleLocalizeMessages, messageId: string): string {
  const blank = new Proxy({}, { get: () => '' });
  const text = messages[messageId]?.en(blank) ?? messageId;
  return text.replace(/^found\s+/i, '').split(':')[0]!.replace(/\(\)/g, '').trim() || messageId;
}

/** The little of SecretLintSourceCode rules use: the text, and line/column maps built on demand. */
class PromptSource implements SecretLintSourceCode {
  readonly hasBOM = false;
  // No path: rules that read files from disk (GCP .p12) must never run on a prompt.
  readonly filePath = undefined;
  readonly physicalFilePath = undefined;
  readonly contentType = 'text' as const;
  readonly ext = '';
  private lineStarts: number[] | undefined;

  constructor(readonly content: string) {}

  getFilePath(): undefined {
    return undefined;
  }

  getPhysicalFilePath(): undefined {
    return undefined;
  }

  private starts(): number[] {
    if (!this.lineStarts) {
      const starts = [0];
      for (let index = this.content.indexOf('\n'); index !== -1; index = this.content.indexOf('\n', index + 1)) starts.push(index + 1);
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }

  indexToPosition(index: number): SecretLintSourceNodePosition {
    const starts = this.starts();
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: index - starts[low]! };
  }

  positionToIndex(position: SecretLintSourceNodePosition): number {
    return (this.starts()[position.line - 1] ?? this.content.length) + position.column;
  }

  rangeToLocation(range: SecretLintSourceNodeRange): SecretLintSourceNodeLocation {
    return { start: this.indexToPosition(range[0]), end: this.indexToPosition(range[1]) };
  }

  locationToRange(location: SecretLintSourceNodeLocation): SecretLintSourceNodeRange {
    return [this.positionToIndex(location.start), this.positionToIndex(location.end)];
  }
}

/** Every credential secretlint's recommended rules (plus Anthropic and OpenAI keys) find in `text`. */
export async function findSecrets(text: string): Promise<SecretFinding[]> {
  const source = new PromptSource(text);
  const seen = new Set<string>();
  const findings: SecretFinding[] = [];
  for (const rule of RULES) {
    const name = shortName(rule.meta.id);
    const context: SecretLintRuleContext = {
      sharedOptions: {},
      createTranslator: <T extends SecretLintRuleLocalizeMessages>(messages: T) =>
        ((messageId: keyof T, data?: unknown) => ({ message: '', messageId: String(messageId), data })) as SecretLintRuleMessageTranslate<T>,
      report: (descriptor: SecretLintRuleReportDescriptor) => {
        const [start, end] = secretRange(text, descriptor.range, descriptor.message.data);
        const key = `${start}:${end}:${name}`;
        if (end <= start || seen.has(key)) return;
        seen.add(key);
        findings.push({ start, end, rule: name, kind: describe(rule.messages, descriptor.message.messageId) });
      },
      ignore: () => undefined,
    };
    const handler = rule.create(context, RULE_OPTIONS[rule.meta.id] ?? {});
    await handler.file?.(source);
  }
  return findings.sort((a, b) => a.start - b.start || b.end - a.end);
}

/**
 * `text` with each finding replaced by `[REDACTED:<rule>]`. Overlapping findings (two rules on
 * one key) are merged so no part of either survives.
 */
export function redactSecrets(text: string, findings: readonly SecretFinding[]): string {
  let out = '';
  let cursor = 0;
  let index = 0;
  while (index < findings.length) {
    const first = findings[index]!;
    let end = first.end;
    let next = index + 1;
    while (next < findings.length && findings[next]!.start < end) end = Math.max(end, findings[next++]!.end);
    if (first.start > cursor) out += text.slice(cursor, first.start);
    out += `[REDACTED:${first.rule}]`;
    cursor = Math.max(cursor, end);
    index = next;
  }
  return out + text.slice(cursor);
}
