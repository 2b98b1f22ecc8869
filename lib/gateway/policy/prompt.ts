/**
 * A Messages request body walked once (segments.ts) into what every later step needs: the text
 * segments the content inspection reads, grouped into the units it scans and caches together;
 * the token estimate; and the prompt serialised as the evidence stores it (lib/audit/manifest.ts:
 * each message a chain link, the system prompt and the tool list a part each, the rest in the
 * manifest), with the SHA-256 of every stored row computed once. That digest is the scan cache's
 * key for the unit and the content row's address, so a history resent every turn is hashed once
 * per request and scanned once per tenant.
 *
 * A message's key is its link's digest, which covers `prev`: editing message k scans k…n again.
 * Keying by the message's own digest would hash every message a second time on every request
 * (the link's digest is needed for its row anyway), and clients append turns far more often than
 * they edit one, so the link's digest it is.
 *
 * A redaction rewrites segments after the walk; the units it touched (and the chain links after
 * the first touched message, whose `prev` changes) are serialised and hashed again when asked for.
 * What the walk stores is a snapshot of the body as walked: the body may change only through its
 * segments (see Admitted in ../handler.ts); under vitest document() checks that it did.
 */
import { chainLinkText, digestText, serialiseDocument, type SerialisedDocument, type SplitPlan, type TextDigest } from '@/lib/audit';
import { hash } from 'node:crypto';
import { textKey } from './content';
import { inputTokens } from './estimate';
import { keyName, topLevelKeySegment, walkValue, type TextSegment, type ValueWalk } from './segments';

/** How the evidence splits a prompt: each message a linked row, the system prompt and the tool list a row each. */
export const PROMPT_SPLIT: SplitPlan = { chains: ['messages'], parts: ['system', 'tools'] };

/** The fields the token estimate counts (see estimate.ts). */
const COUNTED = new Set(['system', 'messages', 'tools']);

type Json = Record<string, unknown>;

/** Segments scanned together: their short ones joined into one secret-scan batch, their results cached as one. */
export interface ScanUnit {
  /** Indices into the prompt's segments, ascending. */
  readonly segments: readonly number[];
  /**
   * What fixes the unit's segment texts, in order, exactly (within one tenant and policy
   * version, which the cache adds): for a stored row, the row's SHA-256 and the digest of the
   * document's key order; otherwise the digest of the texts themselves. Never text.
   */
  readonly cacheKey: string;
}

type Walked = ValueWalk & { json: string | undefined };

interface UnitState {
  name: string;
  kind: 'message' | 'part' | 'field';
  segments: number[];
  /** The walk of each value in the unit: one message, one part, or the top-level fields of one name. */
  walks: Walked[];
  /** Walks the unit's values again: after a redaction changed them. */
  rewalk: () => Walked[];
  /** A segment was rewritten since the walk; `changed` stays true once it was. */
  dirty: boolean;
  changed: boolean;
  /** The stored row's digest (messages: of the link), before any redaction. */
  digest?: TextDigest;
}

export class PromptWalk {
  readonly segments: TextSegment[] = [];
  private readonly units: UnitState[] = [];
  /** Per chain field (the messages), its elements' units in order. */
  private readonly chains = new Map<string, UnitState[]>();
  private readonly parts = new Map<string, UnitState>();
  /** The fields that stay in the manifest, each with the unit that scans it and its index among the unit's walks. */
  private readonly fields = new Map<string, { unit: UnitState; walk: number }>();
  /** A top-level key was rewritten: the body's shape changed, so everything is walked anew. */
  private bodyDirty = false;
  private scanUnits?: ScanUnit[];

  constructor(private readonly body: Json) {
    const fieldUnits = new Map<string, UnitState>();
    const fieldKeys = new Map<UnitState, string[]>();
    for (const key of Object.keys(body)) {
      const name = keyName(key);
      // One slot for the key and its value: a renamed key's value is rewritten under the new name.
      const slot = { owner: body, key };
      const keySegment = topLevelKeySegment(body, slot, () => {
        this.bodyDirty = true;
      });
      if (PROMPT_SPLIT.chains.includes(key) && Array.isArray(body[key])) {
        // The chain's key is scanned on its own, each message as a unit of its own.
        this.push(this.unit(name, 'field', () => []), keySegment);
        const links: UnitState[] = [];
        this.chains.set(key, links);
        const items = body[key] as unknown[];
        for (let index = 0; index < items.length; index++) {
          const path = `${name}[${index}]`;
          const walkItem = (onReplace?: () => void) => walkValue({ owner: items, key: index }, { path, depth: 2, counted: COUNTED.has(key), order: true, onReplace });
          const message = this.unit(path, 'message', () => [walkItem()]);
          this.add(message, walkItem(() => (message.dirty = true)));
          links.push(message);
        }
        continue;
      }
      const walkField = (onReplace?: () => void) => walkValue(slot, { path: name, depth: 1, counted: COUNTED.has(key), order: PROMPT_SPLIT.parts.includes(key), onReplace });
      if (PROMPT_SPLIT.parts.includes(key) && body[key] !== undefined) {
        const part = this.unit(name, 'part', () => [walkField()]);
        this.push(part, keySegment);
        this.add(part, walkField(() => (part.dirty = true)));
        this.parts.set(key, part);
        continue;
      }
      // Fields of one name (only unknown ones, `*`, share a name) are scanned together.
      let unit = fieldUnits.get(name);
      if (!unit) {
        const keys: string[] = [];
        unit = this.unit(name, 'field', () => keys.map((field) => walkValue({ owner: body, key: field }, { path: keyName(field), depth: 1, counted: COUNTED.has(field), order: false })));
        fieldUnits.set(name, unit);
        fieldKeys.set(unit, keys);
      }
      const field = unit;
      this.push(field, keySegment);
      this.fields.set(key, { unit: field, walk: field.walks.length });
      fieldKeys.get(field)!.push(key);
      this.add(field, walkField(() => (field.dirty = true)));
    }
  }

  private unit(name: string, kind: UnitState['kind'], rewalk: UnitState['rewalk']): UnitState {
    const unit: UnitState = { name, kind, segments: [], walks: [], rewalk, dirty: false, changed: false };
    this.units.push(unit);
    return unit;
  }

  private push(unit: UnitState, segment: TextSegment): void {
    unit.segments.push(this.segments.length);
    this.segments.push(segment);
  }

  private add(unit: UnitState, walk: Walked): void {
    for (const segment of walk.segments) this.push(unit, segment);
    unit.walks.push(walk);
  }

  /** Walks a unit a redaction changed again; true when it ever changed. */
  private refresh(unit: UnitState): boolean {
    if (unit.dirty) {
      unit.walks = unit.rewalk();
      unit.dirty = false;
      unit.changed = true;
    }
    return unit.changed;
  }

  /** The units the content inspection scans, with their cache keys (digests computed here, once). */
  scanUnitList(): readonly ScanUnit[] {
    if (this.scanUnits) return this.scanUnits;
    for (const links of this.chains.values()) {
      let prev: string | null = null;
      for (const message of links) {
        message.digest = digestText(chainLinkText(message.walks[0]!.json ?? 'null', prev));
        prev = message.digest.sha256;
      }
    }
    for (const part of this.parts.values()) part.digest = digestText(part.walks[0]!.json!);
    this.scanUnits = this.units.map((unit): ScanUnit => {
      if (unit.digest) {
        // The row's digest fixes the value; the key order of its objects fixes the order of its segments.
        return { segments: unit.segments, cacheKey: `${unit.kind}:${unit.name}:${unit.digest.sha256}:${textKey(unit.walks[0]!.order!)}` };
      }
      const texts = JSON.stringify(unit.segments.map((index) => this.segments[index]!.text));
      return { segments: unit.segments, cacheKey: `field:${unit.name}:${textKey(texts)}` };
    });
    return this.scanUnits;
  }

  /** The prompt's tokens, erring long (see estimate.ts), of the body as it is now (redactions applied). */
  estimatedInputTokens(): number {
    // A renamed top-level key (a secret as a field name: rare) changed which unit is what; the
    // simple, certainly true answer is a walk of the body as it is now.
    if (this.bodyDirty) return new PromptWalk(this.body).estimatedInputTokens();
    let bytes = 0;
    let attachments = 0;
    for (const unit of this.units) {
      this.refresh(unit);
      for (const walk of unit.walks) {
        bytes += walk.bytes;
        attachments += walk.attachmentTokens;
      }
    }
    return inputTokens(bytes, attachments);
  }

  /** The prompt as the evidence stores it, of the body as it is now; digests only where still true. */
  document(): SerialisedDocument {
    if (this.bodyDirty) return serialiseDocument(this.body, PROMPT_SPLIT);
    const document = this.serialised();
    if (process.env.VITEST) checkSnapshot(document, this.body);
    return document;
  }

  private serialised(): SerialisedDocument {
    this.scanUnitList();
    const fields: string[] = [];
    for (const key of [...this.fields.keys()].sort()) {
      const { unit, walk } = this.fields.get(key)!;
      this.refresh(unit);
      const json = unit.walks[walk]!.json;
      if (json !== undefined) fields.push(`${JSON.stringify(key)}:${json}`);
    }
    const chains: SerialisedDocument['chains'] = {};
    for (const [name, links] of this.chains) {
      // A changed message changes its link and, through `prev`, every link after it.
      let changed = false;
      chains[name] = links.map((unit) => {
        changed = this.refresh(unit) || changed;
        return { item: unit.walks[0]!.json ?? 'null', ...(changed ? {} : { digest: unit.digest }) };
      });
    }
    const parts: SerialisedDocument['parts'] = {};
    for (const [name, unit] of this.parts) {
      const changed = this.refresh(unit);
      parts[name] = { json: unit.walks[0]!.json!, ...(changed ? {} : { digest: unit.digest }) };
    }
    return { fields: `{${fields.join(',')}}`, chains, parts };
  }
}

/**
 * Under vitest: the walk's stored form must be what serialising the body now gives, row for row,
 * with every digest true. A change to the body made other than through a segment fails here.
 */
function checkSnapshot(document: SerialisedDocument, body: Json): void {
  const fresh = serialiseDocument(body, PROMPT_SPLIT);
  const stale = (what: string) => new Error(`the prompt walk no longer matches the body (${what}): change the body only through its segments`);
  if (document.fields !== fresh.fields) throw stale('fields');
  for (const [name, part] of Object.entries(fresh.parts)) {
    const walked = document.parts[name];
    if (walked?.json !== part.json || (walked.digest && walked.digest.sha256 !== hash('sha256', part.json))) throw stale(name);
  }
  if (Object.keys(document.parts).length !== Object.keys(fresh.parts).length) throw stale('parts');
  for (const [name, links] of Object.entries(fresh.chains)) {
    const walked = document.chains[name];
    if (walked?.length !== links.length) throw stale(name);
    let prev: string | null = null;
    for (let index = 0; index < links.length; index++) {
      if (walked[index]!.item !== links[index]!.item) throw stale(`${name}[${index}]`);
      // Hashed apart from digestText, whose calls tests count.
      const digest: string = hash('sha256', chainLinkText(links[index]!.item, prev));
      if (walked[index]!.digest && walked[index]!.digest!.sha256 !== digest) throw stale(`${name}[${index}]`);
      prev = digest;
    }
  }
  if (Object.keys(document.chains).length !== Object.keys(fresh.chains).length) throw stale('chains');
}

/** The prompt's tokens, erring long, of a body on its own (tests pin the estimate's figures with it). */
export function estimateInputTokens(body: Json): number {
  return new PromptWalk(body).estimatedInputTokens();
}
