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
  secrets?: SecretFinding[];
}

/**
 * Results per distinct text, for one policy version. Claude Code resends its system prompt, tool
 * definitions and the whole conversation on every turn, so nearly every segment of a request
 * was seen on the previous one; only the new turn is scanned.
 */
export class ScanCache {
  private readonly entries = new Map<string, SegmentScan>();

  constructor(private readonly maxEntries = 4096) {}

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

/**
 * Blocklist first (on the text as sent), then secrets: the first blocking rule refuses the
 * request; in `redact` mode every secret found is replaced in the segments, in place.
 */
export async function inspectContent(segments: readonly TextSegment[], options: InspectOptions): Promise<ContentVerdict> {
  const scans = segments.map((segment) => options.cache.entry(segment.text));
  if (!options.blocklist.empty) {
    for (let index = 0; index < segments.length; index++) {
      const scan = scans[index]!;
      if (scan.blocked === undefined) scan.blocked = options.blocklist.check(segments[index]!.text)?.rule ?? null;
      if (scan.blocked) return { kind: 'block', rule: scan.blocked, message: `this request contains text blocked by policy (${scan.blocked})` };
    }
  }

  const summaries = new Map<string, RedactionSummary>();
  for (let index = 0; index < segments.length; index++) {
    const scan = scans[index]!;
    scan.secrets ??= await findSecrets(segments[index]!.text);
    if (scan.secrets.length === 0) continue;
    if (options.secretsMode === 'block') {
      const first = scan.secrets[0]!;
      return {
        kind: 'block',
        rule: `policy.secrets.${first.rule}`,
        message: `this request contains a secret (${first.kind}); remove it and send the request again`,
      };
    }
    for (const finding of scan.secrets) {
      const summary = summaries.get(finding.rule) ?? { rule: finding.rule, kind: finding.kind, count: 0 };
      summary.count += 1;
      summaries.set(finding.rule, summary);
    }
    segments[index]!.replace(redactSecrets(segments[index]!.text, scan.secrets));
  }
  return { kind: 'allow', redactions: [...summaries.values()] };
}
