import { hash } from 'node:crypto';
import type { Blocklist } from './blocklist';
import type { PromptWalk } from './prompt';
import type { TextSegment } from './segments';
import { findSecrets, redactSecrets, type SecretFinding } from './secrets';

/** What inspecting a request's text decided. */
export type ContentVerdict =
  | { kind: 'allow'; redactions: RedactionSummary[] }
  | { kind: 'block'; rule: string; message: string };

/** How many findings of one secret rule were replaced in the request. */
export interface RedactionSummary {
  rule: string;
  kind: string;
  count: number;
}

/** What scanning one unit (see prompt.ts) found, by the index of each segment within the unit. */
interface UnitScan {
  /** The unit's first segment the blocklist refuses, and the rule; null when none. */
  blocked?: { at: number; rule: string } | null;
  /** The findings of each segment that has any. */
  secrets?: [at: number, findings: SecretFinding[]][];
}

/**
 * A cache key for text a person may have written (a short field, a key that is a secret): its
 * SHA-256, so the cache never holds prompt text, not even short secrets such as an AWS key id.
 */
export function textKey(text: string): string {
  return hash('sha256', text, 'base64');
}

/** A map of at most `max` entries (never undefined) that drops the least recently used. */
class RecentMap<V extends object> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max: number) {}

  /** The entry under `key`, made most recently used (made by `create` when absent). */
  use(key: string, create: () => V): V {
    let value: V | undefined = this.entries.get(key);
    if (value !== undefined) {
      // Most recently used last, so the oldest is the first key.
      this.entries.delete(key);
    } else {
      value = create();
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, value);
    return value;
  }
}

/**
 * Scan results per tenant and unit of text, for one policy version (a CompiledPolicy holds one,
 * so a new blocklist or secrets setting starts an empty cache). Claude Code resends its system
 * prompt, tool definitions and the whole conversation on every turn, so nearly every unit of a
 * request was seen on the previous one; only the new turn is scanned. Keys are digests: of the
 * unit's stored row (the one its content row is stored under) or of its texts, never text itself;
 * and start with the tenant: one tenant's request never reuses, or learns of, another's.
 *
 * The blocklist verdicts of short texts (keys, roles, block types) live in a map of their own,
 * so the many short texts of a new unit never push whole units' results out.
 */
export class ScanCache {
  private readonly units: RecentMap<UnitScan>;
  private readonly shortTexts: RecentMap<{ rule: string | null }>;

  // A unit is a message, the system prompt, the tool list or a field: room for many sessions.
  constructor(bounds: { units?: number; shortTexts?: number } = {}) {
    this.units = new RecentMap(bounds.units ?? 50_000);
    this.shortTexts = new RecentMap(bounds.shortTexts ?? 5_000);
  }

  /** The entry of one tenant's unit, made most recently used; the least recently used goes when full. */
  entry(tenantId: string, unitKey: string): UnitScan {
    return this.units.use(`${tenantId}\u0000${unitKey}`, () => ({}));
  }

  /** The blocklist rule refusing a short text of one tenant (null when none), checked once. */
  shortTextRule(tenantId: string, text: string, check: () => string | null): string | null {
    return this.shortTexts.use(`${tenantId}\u0000${textKey(text)}`, () => ({ rule: check() })).rule;
  }
}

export interface InspectOptions {
  /** Whose request: cache entries are never shared between tenants. */
  tenantId: string;
  blocklist: Blocklist;
  secretsMode: 'block' | 'redact';
  cache: ScanCache;
}

// Segments shorter than this are scanned for secrets together, one text per unit (a message, or
// a top-level field: system, tools…): most strings of a request are a few bytes (keys, names,
// types), and scanning each on its own costs a pass of every rule. Longer ones are scanned one by
// one. Results are remembered per unit, so the history a client resends every turn is not
// scanned again: only the new turn is.
const BATCH_BELOW = 512;

/** The short segments of one unit joined by newlines, with where each starts. */
interface Batch {
  at: number[];
  starts: number[];
  joined: string;
}

/** A batch's findings, cut back to the segments each overlaps. */
function spreadFindings({ at, starts }: Batch, findings: readonly SecretFinding[], texts: readonly string[], found: SecretFinding[][]): void {
  for (const finding of findings) {
    // The last segment starting at or before the finding, then every one it reaches into.
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= finding.start) low = middle;
      else high = middle - 1;
    }
    for (let k = low; k < at.length && starts[k]! < finding.end; k++) {
      const index = at[k]!;
      const start = Math.max(finding.start - starts[k]!, 0);
      const end = Math.min(finding.end - starts[k]!, texts[index]!.length);
      if (start < end) found[index]!.push({ ...finding, start, end });
    }
  }
}

/**
 * The secrets in each segment of a unit: long segments on their own, short ones joined by
 * newlines and the findings cut back to the segments they overlap (a secret split over
 * neighbouring strings of a message, like a PEM key given line by line, is found too).
 */
async function unitSecrets(texts: readonly string[]): Promise<[number, SecretFinding[]][]> {
  const found: SecretFinding[][] = texts.map(() => []);
  const batch: Batch = { at: [], starts: [], joined: '' };
  for (let index = 0; index < texts.length; index++) {
    const text = texts[index]!;
    if (text.length >= BATCH_BELOW) {
      found[index] = await findSecrets(text);
    } else if (text.length > 0) {
      batch.at.push(index);
      batch.starts.push(batch.joined.length);
      batch.joined += `${text}\n`;
    }
  }
  if (batch.joined) spreadFindings(batch, await findSecrets(batch.joined), texts, found);
  const secrets: [number, SecretFinding[]][] = [];
  found.forEach((findings, index) => {
    if (findings.length) secrets.push([index, findings]);
  });
  return secrets;
}

// Texts this short (keys, roles, block types) recur in nearly every unit: their blocklist verdicts
// are cached on their own, so a new message checks only its new text.
const SHORT_TEXT = 64;

function blockedBy(text: string, options: InspectOptions): string | null {
  const check = () => options.blocklist.check(text)?.rule ?? null;
  return text.length > SHORT_TEXT ? check() : options.cache.shortTextRule(options.tenantId, text, check);
}

function firstBlocked(texts: readonly string[], options: InspectOptions): UnitScan['blocked'] {
  for (let at = 0; at < texts.length; at++) {
    const rule = blockedBy(texts[at]!, options);
    if (rule) return { at, rule };
  }
  return null;
}

/**
 * Blocklist first (on the text as sent), then secrets: the first blocking rule refuses the
 * request; in `redact` mode every secret found is replaced in the segments, in place, except in
 * signed segments (thinking), which cannot change: a secret there refuses the request.
 */
export async function inspectContent(prompt: PromptWalk, options: InspectOptions): Promise<ContentVerdict> {
  const { segments } = prompt;
  const units = prompt.scanUnitList();
  const scans = units.map((unit) => options.cache.entry(options.tenantId, unit.cacheKey));
  const textsOf = (index: number) => units[index]!.segments.map((segment) => segments[segment]!.text);
  if (!options.blocklist.empty) {
    // The first refused segment in document order, as if every segment were checked in turn.
    let first: { index: number; rule: string } | null = null;
    for (let unit = 0; unit < units.length; unit++) {
      const scan = scans[unit]!;
      if (scan.blocked === undefined) scan.blocked = firstBlocked(textsOf(unit), options);
      const index = scan.blocked ? units[unit]!.segments[scan.blocked.at]! : -1;
      if (scan.blocked && (!first || index < first.index)) first = { index, rule: scan.blocked.rule };
    }
    if (first) return { kind: 'block', rule: first.rule, message: `this request contains text blocked by policy (${first.rule}) in ${segments[first.index]!.path}` };
  }
  const secrets: (SecretFinding[] | undefined)[] = new Array(segments.length);
  for (let unit = 0; unit < units.length; unit++) {
    const scan = scans[unit]!;
    scan.secrets ??= await unitSecrets(textsOf(unit));
    for (const [at, findings] of scan.secrets) secrets[units[unit]!.segments[at]!] = findings;
  }
  const redactions: { segment: TextSegment; findings: SecretFinding[] }[] = [];
  for (let index = 0; index < segments.length; index++) {
    const findings = secrets[index];
    if (!findings) continue;
    const segment = segments[index]!;
    const first = findings[0]!;
    if (options.secretsMode === 'block') {
      return {
        kind: 'block',
        rule: `policy.secrets.${first.rule}`,
        message: `this request contains a secret (${first.kind}) in ${segment.path}; remove it and send the request again`,
      };
    }
    if (segment.signed) {
      return {
        kind: 'block',
        rule: `policy.secrets.${first.rule}`,
        message: `this request contains a secret (${first.kind}) in ${segment.path}, a signed thinking block that cannot be redacted without invalidating its signature; remove that turn (or start a new conversation) and send the request again`,
      };
    }
    redactions.push({ segment, findings });
  }
  // Nothing is rewritten until the whole request is known to pass.
  const summaries = new Map<string, RedactionSummary>();
  for (const { segment, findings } of redactions) {
    for (const finding of findings) {
      const summary = summaries.get(finding.rule) ?? { rule: finding.rule, kind: finding.kind, count: 0 };
      summary.count += 1;
      summaries.set(finding.rule, summary);
    }
    segment.replace(redactSecrets(segment.text, findings));
  }
  return { kind: 'allow', redactions: [...summaries.values()] };
}
