import { z } from 'zod';
import { pool } from '@/lib/db/client';
import {
  checkContentIntegrity,
  ContentIntegrityError,
  contentJson,
  loadContent,
  loadContentRows,
  contentPreparer,
  type ContentRef,
  type ContentRow,
  type PreparedContent,
  type StoreContentInput,
} from './content';
import type { TextDigest } from './digest';
import type { Queryable } from './queryable';

/**
 * Large JSON documents that repeat most of themselves from one call to the next (a conversation
 * sends its whole history every turn) are stored as a manifest plus parts, so what repeats is
 * stored once:
 *
 * - a `chains` field (an array such as `messages`) becomes a hash-linked list, one row per
 *   element, each naming the row before it: {item, prev}. Two requests sharing a prefix share
 *   those rows, so N turns of a growing conversation store O(N) bytes, not O(N²); a single
 *   flat list of hashes would itself grow quadratically;
 * - a `parts` field (a system prompt, the tool list) is one row of its own;
 * - everything else stays in the manifest, which names the chain tails and parts by SHA-256.
 *
 * The event references only the manifest. Each link embeds the hash of everything before it,
 * so the manifest's hash, which the event's hash chain covers, commits to the whole document.
 * loadDocument reassembles exactly the JSON value that was split.
 */

export const MANIFEST_MEDIA_TYPE = 'application/vnd.gatehouse.manifest+json';
export const CHAIN_LINK_MEDIA_TYPE = 'application/vnd.gatehouse.chain-link+json';

export interface SplitPlan {
  /** Array fields stored one element per row, as a hash-linked list. */
  chains: readonly string[];
  /** Fields stored whole, each as a row of its own. */
  parts: readonly string[];
}

export interface PreparedDocument {
  /** The manifest's ref: what the event carries in content_refs. */
  ref: ContentRef;
  /** Every row to write with the event: parts, links, and the manifest last. */
  content: PreparedContent[];
}

export type ManifestInput = Omit<StoreContentInput, 'body' | 'media_type'> & { body: Readonly<Record<string, unknown>> };

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const manifestSchema = z.strictObject({
  manifest: z.literal(1),
  fields: z.record(z.string(), z.unknown()),
  chains: z.record(z.string(), hash.nullable()),
  parts: z.record(z.string(), hash),
});
const linkSchema = z.strictObject({ item: z.unknown(), prev: hash.nullable() });

// A link's text is canonical JSON with sorted keys, so `"prev":"<sha256>"}` is always its last
// 74 characters: the database can follow a chain without parsing each row as jsonb (which
// refuses the lone-surrogate escapes a request body may hold).
const LINK_TAIL_CHARS = 74;
/** More elements than any conversation has; stops a corrupt chain from being followed for ever. */
const MAX_CHAIN_LENGTH = 1_000_000;

/**
 * A document split by a plan and serialised ahead of preparing its rows: canonical JSON (as
 * contentJson writes it) of every chain element, every part and the fields left in the manifest.
 * A producer that already hashed a row's text (the gateway, whose scan cache is keyed by these
 * digests) passes the digest along, and the row is not hashed again.
 */
export interface SerialisedDocument {
  /** Canonical JSON of the object of fields that stay in the manifest. */
  fields: string;
  /** Per chain field, its elements in order; `digest` is that of the element's link text (chainLinkText). */
  chains: Record<string, readonly { item: string; digest?: TextDigest }[]>;
  /** Per part field, its value's canonical JSON (the row's text) and, when known, its digest. */
  parts: Record<string, { json: string; digest?: TextDigest }>;
}

/** The text of a chain link row: canonical JSON of {item, prev}, from the item's canonical JSON. */
export function chainLinkText(item: string, prev: string | null): string {
  // contentJson({ item, prev }): keys sorted, prev a hex digest or null.
  return `{"item":${item},"prev":${prev === null ? 'null' : `"${prev}"`}}`;
}

/** `body` split by `plan`, each row serialised to canonical JSON (no digests: see SerialisedDocument). */
export function serialiseDocument(body: Readonly<Record<string, unknown>>, plan: SplitPlan): SerialisedDocument {
  const fields: Record<string, unknown> = { ...body };
  const chains: SerialisedDocument['chains'] = {};
  const parts: SerialisedDocument['parts'] = {};
  for (const name of plan.chains) {
    const value = body[name];
    if (!Array.isArray(value)) continue;
    delete fields[name];
    chains[name] = (value as unknown[]).map((item) => ({ item: contentJson(item === undefined ? null : item) }));
  }
  for (const name of plan.parts) {
    const value = body[name];
    if (value === undefined || name in chains) continue;
    delete fields[name];
    parts[name] = { json: contentJson(value) };
  }
  return { fields: contentJson(fields), chains, parts };
}

/** The rows of a serialised document, to write together: parts, links, and the manifest last. Throws if any row cannot be stored. */
export function prepareSerialisedManifest(input: Omit<ManifestInput, 'body'>, document: SerialisedDocument): PreparedDocument {
  const content: PreparedContent[] = [];
  const prepare = contentPreparer(input);
  const chains: Record<string, string | null> = {};
  const parts: Record<string, string> = {};
  for (const [name, items] of Object.entries(document.chains)) {
    let prev: string | null = null;
    for (const { item, digest } of items) {
      const link = prepare(chainLinkText(item, prev), CHAIN_LINK_MEDIA_TYPE, digest);
      content.push(link);
      prev = link.ref.sha256;
    }
    chains[name] = prev;
  }
  for (const [name, { json, digest }] of Object.entries(document.parts)) {
    const part = prepare(json, 'application/json', digest);
    content.push(part);
    parts[name] = part.ref.sha256;
  }
  // contentJson({ manifest: 1, fields, chains, parts }), with the fields already serialised.
  const manifest = prepare(`{"chains":${contentJson(chains)},"fields":${document.fields},"manifest":1,"parts":${contentJson(parts)}}`, MANIFEST_MEDIA_TYPE);
  content.push(manifest);
  return { ref: manifest.ref, content };
}

/** A chain's links from its tail back to its start, read in one recursive query. */
async function loadChain(tenantId: string, tail: string, database: Queryable): Promise<unknown[]> {
  // Each row's `prev` is taken out once, as a column, so the next step is an index lookup.
  const prev = (alias: string) =>
    `CASE WHEN ${alias}.media_type = $3 THEN decode(substring(right(${alias}.body, ${LINK_TAIL_CHARS}) FROM '^"prev":"([0-9a-f]{64})"}$'), 'hex') END`;
  const { rows } = await database.query<ContentRow & { position: number }>(
    `WITH RECURSIVE chain AS (
       SELECT head.sha256, head.media_type, head.body, 1 AS position, ${prev('head')} AS prev FROM audit_content head
        WHERE head.tenant_id = $1 AND head.sha256 = $2 AND (head.expires_at IS NULL OR head.expires_at > now())
       UNION ALL
       SELECT link.sha256, link.media_type, link.body, chain.position + 1, ${prev('link')} FROM chain
         JOIN audit_content link ON link.tenant_id = $1 AND link.sha256 = chain.prev
        WHERE chain.position < $4 AND (link.expires_at IS NULL OR link.expires_at > now())
     )
     SELECT encode(sha256, 'hex') AS sha256, media_type, body, position FROM chain ORDER BY position DESC`,
    [tenantId, Buffer.from(tail, 'hex'), CHAIN_LINK_MEDIA_TYPE, MAX_CHAIN_LENGTH],
  );
  // Walked from the start: each link must name the one before it, the first names none.
  const items: unknown[] = [];
  let expectedPrev: string | null = null;
  for (const row of rows) {
    checkContentIntegrity(row);
    const link = linkSchema.safeParse(row.media_type === CHAIN_LINK_MEDIA_TYPE ? JSON.parse(row.body) : null);
    if (!link.success || link.data.prev !== expectedPrev) {
      throw new ContentIntegrityError(`chain ending at ${tail} is broken at ${row.sha256}: a link is missing, expired or malformed`);
    }
    items.push(link.data.item);
    expectedPrev = row.sha256;
  }
  if (expectedPrev !== tail) throw new ContentIntegrityError(`chain ending at ${tail} is not stored`);
  return items;
}

/**
 * The document a content ref stands for: a manifest reassembled into exactly the JSON value
 * that was split, other JSON parsed, text as text; null when the content is unknown, expired or
 * purged. Throws ContentIntegrityError when stored rows were edited or are missing under an
 * unexpired manifest (parts are always kept at least as long as the manifests naming them).
 */
export async function loadDocument(tenantId: string, sha256: string, database: Queryable = pool()): Promise<unknown> {
  const stored = await loadContent(tenantId, sha256, database);
  if (!stored) return null;
  if (stored.media_type !== MANIFEST_MEDIA_TYPE) return stored.media_type.startsWith('application/json') ? JSON.parse(stored.body) : stored.body;

  // Checked with the schema, but used as JSON.parse built it: a copy could lose a body field
  // named __proto__, which JSON.parse keeps as an ordinary property.
  const raw: unknown = JSON.parse(stored.body);
  if (!manifestSchema.safeParse(raw).success) throw new ContentIntegrityError(`manifest ${sha256} is malformed`);
  const { fields, chains, parts } = raw as z.output<typeof manifestSchema>;
  const document: Record<string, unknown> = fields;
  const partRows = await loadContentRows(tenantId, Object.values(parts), database);
  for (const [name, partSha256] of Object.entries(parts)) {
    const row = partRows.get(partSha256);
    if (!row) throw new ContentIntegrityError(`manifest ${sha256} names part ${name} (${partSha256}), which is not stored`);
    Object.defineProperty(document, name, { value: JSON.parse(row.body), enumerable: true, writable: true, configurable: true });
  }
  for (const [name, tail] of Object.entries(chains)) {
    const items = tail === null ? [] : await loadChain(tenantId, tail, database);
    Object.defineProperty(document, name, { value: items, enumerable: true, writable: true, configurable: true });
  }
  return document;
}
