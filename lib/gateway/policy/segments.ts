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
import { isRecord } from '@/lib/platform/json';
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

function keyName(key: string): string {
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

/** Where a value lives; an object key segment renames `key` when it rewrites the key. */
interface Slot {
  owner: unknown[] | Json;
  key: string | number;
}

/** An object key as a segment: rewriting it renames the key and keeps the keys' order. */
function keySegment(owner: Json, slot: Slot, path: string): TextSegment {
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
    },
  };
}

class Collector {
  readonly segments: TextSegment[] = [];

  private value(slot: Slot, path: string, depth: number, signed = false): void {
    const value = (slot.owner as Record<string | number, unknown>)[slot.key];
    if (typeof value === 'string') {
      this.segments.push({
        text: value,
        path,
        signed,
        replace(next) {
          (slot.owner as Record<string | number, unknown>)[slot.key] = next;
        },
      });
    } else if (Array.isArray(value)) {
      this.array(value, path, depth + 1);
    } else if (isRecord(value)) {
      this.object(value, path, depth + 1);
    }
  }

  private enter(depth: number): void {
    // The body parser refuses deeper nesting; met here, it came from somewhere else: refuse too.
    if (depth > MAX_JSON_DEPTH) throw new Error(`request body nests more than ${MAX_JSON_DEPTH} levels deep`);
  }

  private array(value: unknown[], path: string, depth: number): void {
    this.enter(depth);
    for (let index = 0; index < value.length; index++) this.value({ owner: value, key: index }, `${path}[${index}]`, depth);
  }

  object(value: Json, path: string, depth: number): void {
    this.enter(depth);
    const prefix = path ? `${path}.` : '';
    for (const key of Object.keys(value)) {
      const slot: Slot = { owner: value, key };
      const keyPath = `${prefix}${keyName(key)}`;
      this.segments.push(keySegment(value, slot, `${keyPath} (key)`));
      if (!notText(value, key)) this.value(slot, keyPath, depth, isSigned(value, key));
    }
  }
}

/** Every string of the body, in document order. Throws for nesting deeper than the parser allows. */
export function textSegments(body: Json): TextSegment[] {
  const collector = new Collector();
  collector.object(body, '', 1);
  return collector.segments;
}
