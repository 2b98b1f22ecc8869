import { createHash } from 'node:crypto';
import type { Blocklist } from './blocklist';
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

interface SegmentScan {
  blocked?: string | null;
  /** Of a segment scanned on its own, or of a batch's joined text (see BATCH_BELOW). */
  secrets?: SecretFinding[];
}

/**
 * Results per distinct text, for one policy version. Claude Code resends its system prompt, tool
 * definitions and the whole conversation on every turn, so nearly every segment of a request
 * was seen on the previous one; only the new turn is scanned.
 */
export class ScanCache {
  private readonly entries = new Map<string, SegmentScan>();

  // Every string of a request is a segment (tool schemas alone give a Claude Code request a few
  // thousand), and most are a few bytes: room for the strings of many sessions.
  constructor(private readonly maxEntries = 50_000) {}

  entry(text: string): SegmentScan {
    // Short texts are their own key; long ones are hashed so the cache holds no prompts.
    const key = text.length <= 64 ? `t:${text}` : `h:${createHash('sha256').update(text).digest('base64url')}`;
    let entry = this.entries.get(key);
    if (entry) {
      // Most recently used last, so the oldest is the first key.
      this.entries.delete(key);
    } else {
      entry = {};
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, entry);
    return entry;
  }
}

export interface InspectOptions {
  blocklist: Blocklist;
  secretsMode: 'block' | 'redact';
  cache: ScanCache;
}

// Segments shorter than this are scanned for secrets together, one text per message (or per
// other top-level field: system, tools…): most strings of a request are a few bytes (keys, names,
// types), and scanning each on its own costs a pass of every rule. Longer ones are scanned one by
// one. Both are remembered in the cache, so the history a client resends every turn is not
// scanned again: only the new turn is.
const BATCH_BELOW = 512;

/** The short segments of one message joined by newlines, with where each starts. */
interface Batch {
  indices: number[];
  starts: number[];
  joined: string;
}

/** What a segment is batched with: its message, or its top-level field. */
function batchOf(path: string): string {
  return /^messages\[\d+\]|^[^.[ ]*/.exec(path)![0];
}

/** A batch's findings, cut back to the segments each overlaps. */
function spreadFindings({ indices, starts }: Batch, findings: readonly SecretFinding[], segments: readonly TextSegment[], found: SecretFinding[][]): void {
  for (const finding of findings) {
    // The last segment starting at or before the finding, then every one it reaches into.
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= finding.start) low = middle;
      else high = middle - 1;
    }
    for (let k = low; k < indices.length && starts[k]! < finding.end; k++) {
      const index = indices[k]!;
      const start = Math.max(finding.start - starts[k]!, 0);
      const end = Math.min(finding.end - starts[k]!, segments[index]!.text.length);
      if (start < end) found[index]!.push({ ...finding, start, end });
    }
  }
}

/**
 * The secrets in each segment: long segments on their own, short ones joined by newlines per
 * message and the findings cut back to the segments they overlap (a secret split over
 * neighbouring strings of a message, like a PEM key given line by line, is found too).
 */
async function secretsPerSegment(segments: readonly TextSegment[], scans: readonly SegmentScan[], cache: ScanCache): Promise<SecretFinding[][]> {
  const found: SecretFinding[][] = segments.map(() => []);
  const batches = new Map<string, Batch>();
  for (let index = 0; index < segments.length; index++) {
    const { text, path } = segments[index]!;
    if (text.length >= BATCH_BELOW) {
      const scan = scans[index]!;
      scan.secrets ??= await findSecrets(text);
      found[index] = scan.secrets;
    } else if (text.length > 0) {
      const name = batchOf(path);
      let batch = batches.get(name);
      if (!batch) batches.set(name, (batch = { indices: [], starts: [], joined: '' }));
      batch.indices.push(index);
      batch.starts.push(batch.joined.length);
      batch.joined += `${text}\n`;
    }
  }
  for (const batch of batches.values()) {
    const scan = cache.entry(batch.joined);
    scan.secrets ??= await findSecrets(batch.joined);
    spreadFindings(batch, scan.secrets, segments, found);
  }
  return found;
}

/**
 * Blocklist first (on the text as sent), then secrets: the first blocking rule refuses the
 * request; in `redact` mode every secret found is replaced in the segments, in place, except in
 * signed segments (thinking), which cannot change: a secret there refuses the request.
 */
export async function inspectContent(segments: readonly TextSegment[], options: InspectOptions): Promise<ContentVerdict> {
  const scans = segments.map((segment) => options.cache.entry(segment.text));
  if (!options.blocklist.empty) {
    for (let index = 0; index < segments.length; index++) {
      const scan = scans[index]!;
      if (scan.blocked === undefined) scan.blocked = options.blocklist.check(segments[index]!.text)?.rule ?? null;
      if (scan.blocked) return { kind: 'block', rule: scan.blocked, message: `this request contains text blocked by policy (${scan.blocked}) in ${segments[index]!.path}` };
    }
  }
  const secrets = await secretsPerSegment(segments, scans, options.cache);
  const redactions: { segment: TextSegment; findings: SecretFinding[] }[] = [];
  for (let index = 0; index < segments.length; index++) {
    const findings = secrets[index]!;
    if (findings.length === 0) continue;
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
