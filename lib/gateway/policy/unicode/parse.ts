import { createHash } from 'node:crypto';

/** What scripts/confusables-table.ts keeps of confusables.txt, as committed in confusables.json. */
export interface ConfusablesTable {
  /** The Unicode version the file declares, e.g. `17.0.0`. */
  version: string;
  /** The file's own date line. */
  date: string;
  /** SHA-256 of the confusables.txt the table was made from, so a stale table is noticed. */
  sha256: string;
  /**
   * [source code point, its prototype (one or more code points)], upper-case hex, space-separated,
   * in code point order.
   */
  prototypes: [string, string][];
}

const HEX_SEQUENCE = /^[0-9A-F]{4,6}( [0-9A-F]{4,6})*$/;

/**
 * Reads confusables.txt: `source ; prototype ; MA # comment` lines. Every source is a single
 * code point (true of every published version); anything else means the format changed, and
 * the script stops rather than guess.
 */
export function parseConfusables(text: string): ConfusablesTable {
  const version = /^# Version: (\S+)/m.exec(text)?.[1];
  const date = /^# Date: (.+)$/m.exec(text)?.[1]?.trim();
  if (!version || !date) throw new Error('confusables.txt: no Version or Date header line');
  const prototypes = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    const data = line.replace(/#.*/, '').trim();
    if (!data) continue;
    const [source, prototype, type] = data.split(';').map((field) => field.trim());
    if (!source || !prototype || type !== 'MA' || !/^[0-9A-F]{4,6}$/.test(source) || !HEX_SEQUENCE.test(prototype)) {
      throw new Error(`confusables.txt line ${index + 1}: not a "source ; prototype ; MA" line`);
    }
    if (prototypes.has(source)) throw new Error(`confusables.txt line ${index + 1}: ${source} is mapped twice`);
    prototypes.set(source, prototype);
  }
  const sorted = [...prototypes].sort(([a], [b]) => parseInt(a, 16) - parseInt(b, 16));
  return { version, date, sha256: createHash('sha256').update(text).digest('hex'), prototypes: sorted };
}
