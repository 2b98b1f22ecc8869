/**
 * Every string of a Messages request body that goes upstream: every string value at any depth
 * (system, every block type of every turn, tool definitions, tool_choice, metadata,
 * stop_sequences, fields nobody has heard of yet) and every object key. Each is a handle that
 * can rewrite its text in place, so redaction edits exactly what goes upstream (and what the
 * request event stores, which is the same body) and leaves everything else as the client sent it.
 *
 * Deliberately not inspected, because they are not text:
 * - the base64 `data` of an image or PDF source whose bytes are what its media_type says
 *   (binary; an image's pixels are not read); `data` that is not is read as text;
 * - the `signature` of a thinking block and the `data` of a redacted_thinking block (opaque
 *   base64 values Anthropic issued, which only Anthropic can read); one that is not base64 is
 *   read as text.
 *
 * The text of a signed thinking block is inspected but cannot be changed (the signature covers
 * it, and Anthropic refuses a turn whose thinking was edited): such segments are `signed`, and
 * a secret in one blocks the request instead of being redacted.
 */
import { scalarJson } from '@/lib/audit';
import { isRecord } from '@/lib/platform/json';
import { attachmentTokens, isAttachmentSource } from './attachments';
import { MAX_JSON_DEPTH } from './body';
import { isBase64Of } from './media-type';

export interface TextSegment {
  readonly text: string;
  /** Where it is, e.g. `messages[2].content[0].thinking`; unknown keys show as `*`. */
  readonly path: string;
  /** Covered by an upstream signature: may be refused, never rewritten. */
  readonly signed: boolean;
  replace(next: string): void;
}

type Json = Record<string, unknown>;

// Key names of the Messages API shown as they are in a path. Any other key could be something a
// person typed (a metadata key, a property of a tool's schema) and is shown as `*`, so a refusal
// message or audit event never repeats text the request was refused for.
const KNOWN_KEYS = new Set([
  'system', 'messages', 'role', 'content', 'type', 'text', 'thinking', 'signature', 'data', 'source', 'media_type', 'url', 'file_id',
  'title', 'context', 'citations', 'cache_control', 'id', 'name', 'input', 'tool_use_id', 'is_error', 'tools', 'description',
  'input_schema', 'properties', 'items', 'enum', 'default', 'examples', 'pattern', 'required', 'tool_choice', 'metadata', 'user_id',
  'stop_sequences', 'mcp_servers', 'container', 'skills', 'tool_configuration', 'allowed_tools', 'authorization_token',
  'model', 'context_management', 'edits', 'output_config', 'output_format', 'schema', 'service_tier',
  'search_result', 'document', 'image', 'tool_result', 'tool_use', 'server_tool_use',
]);

/** A key as a path shows it (also the name of a top-level field's scan unit: unknown names together, `*`). */
export function keyName(key: string): string {
  return KNOWN_KEYS.has(key) ? key : '*';
}

// What Anthropic issues as thinking signatures and redacted thinking: base64, nothing else.
const OPAQUE_TOKEN = /^[A-Za-z0-9+/=_-]*$/;

/** Values that are not text, by the key that holds them and the object around it. */
function notText(owner: Json, key: string): boolean {
  const value = owner[key];
  if (typeof value !== 'string') return false;
  // base64 sources, `{type: 'base64', media_type: 'image/png', data}`, whose bytes really are
  // that image or PDF; anything else in `data` (plain text, a lie about the type) is read.
  if (key === 'data' && owner.type === 'base64') return typeof owner.media_type === 'string' && isBase64Of(owner.media_type, value);
  // Opaque values Anthropic issued; one that is not base64 was not issued by Anthropic: read it.
  if ((key === 'signature' && owner.type === 'thinking') || (key === 'data' && owner.type === 'redacted_thinking')) return OPAQUE_TOKEN.test(value);
  return false;
}

function isSigned(owner: Json, key: string): boolean {
  return key === 'thinking' && owner.type === 'thinking' && typeof owner.signature === 'string' && owner.signature !== '';
}

/**
 * Where a value lives; an object key segment renames `key` when it rewrites the key. The key's
 * segment and the value's segments share one slot, so a value rewritten after its key was
 * renamed lands under the new name (not back under the old one, which may be the secret).
 */
export interface Slot {
  owner: unknown[] | Json;
  key: string | number;
}

/** An object key as a segment: rewriting it renames the key and keeps the keys' order. */
function keySegment(owner: Json, slot: Slot, path: string, onReplace: () => void): TextSegment {
  const key = slot.key as string;
  return {
    text: key,
    path,
    signed: false,
    replace(next) {
      if (next === key) return;
      // Two keys redacted alike must not become one.
      while (Object.hasOwn(owner, next)) next += '_';
      const entries = Object.entries(owner).map(([name, value]): [string, unknown] => [name === key ? next : name, value]);
      for (const name of Object.keys(owner)) delete owner[name];
      // Defined, not assigned: assigning a JSON key named `__proto__` would set the prototype
      // instead, and the field would vanish from what is sent and stored.
      for (const [name, value] of entries) Object.defineProperty(owner, name, { value, writable: true, enumerable: true, configurable: true });
      slot.key = next;
      onReplace();
    },
  };
}

/** What walking one value found: the estimate's counts travel with the segments. */
export interface ValueWalk {
  /** Every string of the value (and every key), in document order. */
  readonly segments: TextSegment[];
  /** UTF-8 bytes of text the token estimate counts (see estimate.ts), and the attachments' tokens. */
  bytes: number;
  attachmentTokens: number;
  /**
   * How each object's keys were ordered in the document, where canonical JSON sorts them: the
   * value's canonical JSON and this together fix its segments, in order, exactly. Only when
   * asked for (values stored as rows of their own, whose digest keys the scan cache).
   */
  order?: string;
}

/**
 * One walk of a JSON value for everything the gateway reads from a prompt: the text segments,
 * the token estimate's counts (within `counted` subtrees: system, messages and tools) and the
 * canonical JSON (RFC 8785, as contentJson in lib/audit writes it) the evidence stores, so the
 * prompt is neither walked again nor serialised again unless a redaction changed it.
 */
class Walker {
  readonly walk: ValueWalk = { segments: [], bytes: 0, attachmentTokens: 0 };

  constructor(
    private readonly onReplace: () => void,
    order: boolean,
  ) {
    if (order) this.walk.order = '';
  }

  private text(value: string, slot: Slot, path: string, signed: boolean): void {
    const onReplace = this.onReplace;
    this.walk.segments.push({
      text: value,
      path,
      signed,
      replace(next) {
        (slot.owner as Record<string | number, unknown>)[slot.key] = next;
        onReplace();
      },
    });
  }

  /** The canonical JSON of the value in `slot`; undefined for an undefined member (left out, as JSON.stringify does). */
  value(slot: Slot, path: string, depth: number, counted: boolean, inspected = true, signed = false): string | undefined {
    const value = (slot.owner as Record<string | number, unknown>)[slot.key];
    if (typeof value === 'string') {
      if (inspected) this.text(value, slot, path, signed);
      if (counted) this.walk.bytes += Buffer.byteLength(value);
      return JSON.stringify(value);
    }
    if (typeof value === 'number' || typeof value === 'boolean') {
      if (counted) this.walk.bytes += 4;
      return scalarJson(value);
    }
    if (value === undefined) return undefined;
    if (Array.isArray(value)) return this.array(value, path, depth + 1, counted);
    if (isRecord(value)) return this.object(value, path, depth + 1, counted);
    return scalarJson(value);
  }

  private enter(depth: number): void {
    // The body parser refuses deeper nesting; met here, it came from somewhere else: refuse too.
    if (depth > MAX_JSON_DEPTH) throw new Error(`request body nests more than ${MAX_JSON_DEPTH} levels deep`);
  }

  private array(value: unknown[], path: string, depth: number, counted: boolean): string {
    this.enter(depth);
    let json = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) json += ',';
      json += this.value({ owner: value, key: index }, `${path}[${index}]`, depth, counted) ?? 'null';
    }
    return `${json}]`;
  }

  object(value: Json, path: string, depth: number, counted: boolean): string {
    this.enter(depth);
    // The estimate counts an attachment by what it is (attachments.ts), not by its text.
    let countKeys = counted;
    let kind: 'image' | 'document' | null = null;
    if (counted && isAttachmentSource(value)) {
      this.walk.attachmentTokens += attachmentTokens(value, 'unknown');
      countKeys = false;
    } else if (counted && (value.type === 'image' || value.type === 'document')) {
      kind = value.type;
    }
    const prefix = path ? `${path}.` : '';
    const keys = Object.keys(value);
    const members: (string | undefined)[] = new Array(keys.length);
    let sorted = true;
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index]!;
      if (index > 0 && keys[index - 1]! > key) sorted = false;
      const slot: Slot = { owner: value, key };
      const keyPath = `${prefix}${keyName(key)}`;
      this.walk.segments.push(keySegment(value, slot, `${keyPath} (key)`, this.onReplace));
      let countField = countKeys;
      if (countKeys) {
        this.walk.bytes += key.length;
        if (kind && key === 'source' && isAttachmentSource(value[key])) {
          this.walk.attachmentTokens += attachmentTokens(value[key] as Json, kind);
          countField = false;
        }
      }
      const member = this.value(slot, keyPath, depth, countField, !notText(value, key), isSigned(value, key));
      members[index] = member === undefined ? undefined : `${JSON.stringify(key)}:${member}`;
    }
    let order = keys.map((_, index) => index);
    // Sorted by UTF-16 code units, as canonical JSON (and Array.prototype.sort) order keys.
    if (!sorted) order = order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
    if (this.walk.order !== undefined) this.walk.order += sorted ? '.' : `${order.join(',')};`;
    const parts: string[] = [];
    for (const index of order) if (members[index] !== undefined) parts.push(members[index]!);
    return `{${parts.join(',')}}`;
  }
}

/**
 * One value of a body walked: `owner[key]`, at `path`, whose container sits at bracket `depth`
 * (the body object is 1). `counted` says whether the token estimate counts it; `onReplace` is
 * called whenever a segment of it is rewritten (a redaction).
 */
export function walkValue(
  slot: Slot,
  options: { path: string; depth: number; counted: boolean; order: boolean; onReplace?: () => void },
): ValueWalk & { json: string | undefined } {
  const walker = new Walker(options.onReplace ?? (() => {}), options.order);
  const json = walker.value(slot, options.path, options.depth, options.counted);
  return { ...walker.walk, json };
}

/**
 * The segment of a top-level key of the body (`system (key)`), in `slot`, the slot its value is
 * walked in too: the body object itself is never rewritten whole.
 */
export function topLevelKeySegment(body: Json, slot: Slot, onReplace: () => void): TextSegment {
  return keySegment(body, slot, `${keyName(slot.key as string)} (key)`, onReplace);
}

