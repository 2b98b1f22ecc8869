import { z } from 'zod';
import { pool } from '@/lib/db/client';
import { digestText, type TextDigest } from './digest';
import { CONTENT_KINDS, type ContentKind } from './event';
import type { Queryable } from './queryable';

/**
 * Prompts, completions and tool payloads live apart from the chain, under their own retention:
 * an event carries only {kind, sha256, byte_size} in content_refs, so expiring content never
 * breaks a hash chain, and reading content can be permissioned separately from reading events.
 *
 * Content is per tenant and addressed by the SHA-256 of its bytes: the same bytes from one
 * tenant are one row, and every new reference moves that row's expiry forward to the new
 * reference's retention. Writes go through the database function audit_store_content (the app
 * role may not INSERT or UPDATE audit_content itself), which checks each hash against its body.
 * Expired rows are deleted by purgeExpiredContent, run by the worker.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StoreContentInput {
  tenant_id: string;
  kind: ContentKind;
  /** Text is stored as given; any other JSON value as canonical JSON (contentJson), so equal values dedupe. */
  body: JsonValue;
  media_type?: string;
  /** Days to keep the content after this reference; absent means kept until removed by policy. */
  retention_days?: number;
}

/** Exactly the shape of an entry in an event's content_refs. */
export interface ContentRef {
  kind: ContentKind;
  sha256: string;
  byte_size: number;
}

export interface StoredContent extends ContentRef {
  tenant_id: string;
  media_type: string;
  body: string;
  created_at: Date;
  expires_at: Date | null;
}

/** A content row validated, serialised and hashed, ready to be written (alone or with its event). */
export interface PreparedContent {
  ref: ContentRef;
  tenant_id: string;
  media_type: string;
  text: string;
  retention_days: number | null;
}

/** A content row does not hash to the sha256 it is stored under: someone edited it. */
export class ContentIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContentIntegrityError';
  }
}

export const MAX_CONTENT_BYTES = 16 * 1024 * 1024;

const optionsSchema = z.strictObject({
  tenant_id: z.guid().transform((value) => value.toLowerCase()),
  kind: z.enum(CONTENT_KINDS),
  media_type: z.string().min(1).max(200).optional(),
  retention_days: z.number().int().positive().max(36_500).optional(),
});

/**
 * RFC 8785 canonical JSON (keys sorted by UTF-16 code units, numbers and strings as
 * JSON.stringify writes them), except that a lone surrogate is written as its \uXXXX escape
 * where JCS refuses it: a request body may hold one, and its evidence must still be stored, as
 * sent. JSON.parse gives the exact value back.
 */
export function contentJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : contentJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${contentJson(record[key])}`).join(',')}}`;
  }
  return scalarJson(value);
}

/** contentJson of a value that is neither an array nor an object; throws for what JSON cannot hold. */
export function scalarJson(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('content JSON cannot hold NaN or Infinity');
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error(`content JSON cannot hold a ${typeof value}`);
  return text;
}

function serialise(body: unknown, mediaType: string | undefined): { text: string; mediaType: string } {
  if (typeof body === 'string') return { text: body, mediaType: mediaType ?? 'text/plain; charset=utf-8' };
  return { text: contentJson(body), mediaType: mediaType ?? 'application/json' };
}

/** Validates and hashes content without writing it; throws if it cannot be stored. */
export function prepareContent(input: Omit<StoreContentInput, 'body'> & { body: unknown }): PreparedContent {
  const { body, ...options } = input;
  const { media_type, ...checked } = optionsSchema.parse(options);
  return prepareChecked(checked, body, media_type);
}

/**
 * prepareContent for many rows of one tenant, kind and retention (a manifest's parts, under media
 * types of its own): the options are validated once, and each body is serialised, checked and
 * hashed by the function returned. A text body's digest, when the caller already computed it
 * (digestText of exactly that text), is taken as it is instead of hashing the text again.
 */
export function contentPreparer(input: Omit<StoreContentInput, 'body' | 'media_type'>): (body: unknown, mediaType: string, digest?: TextDigest) => PreparedContent {
  const checked = optionsSchema.parse(input);
  return (body, mediaType, digest) => prepareChecked(checked, body, mediaType, digest);
}

function prepareChecked(
  options: { tenant_id: string; kind: ContentKind; retention_days?: number },
  body: unknown,
  requestedMediaType: string | undefined,
  known?: TextDigest,
): PreparedContent {
  const { text, mediaType } = serialise(body, requestedMediaType);
  if (text.includes('\u0000') || !text.isWellFormed()) {
    throw new Error('content must not contain NUL characters or unpaired surrogates (PostgreSQL text cannot hold them)');
  }
  const digest = known ?? digestText(text);
  if (digest.byteSize > MAX_CONTENT_BYTES) throw new Error(`content is ${digest.byteSize} bytes, over the ${MAX_CONTENT_BYTES} limit`);
  const { tenant_id, kind, retention_days } = options;
  return { ref: { kind, sha256: digest.sha256, byte_size: digest.byteSize }, tenant_id, media_type: mediaType, text, retention_days: retention_days ?? null };
}

/** Prepared rows as the parallel arrays audit_store_content takes (also the tail of audit_append_events' arguments). */
export function contentColumns(rows: readonly PreparedContent[]): unknown[] {
  return [
    rows.map((row) => row.tenant_id),
    rows.map((row) => Buffer.from(row.ref.sha256, 'hex')),
    rows.map((row) => row.ref.kind),
    rows.map((row) => row.media_type),
    rows.map((row) => row.text),
    rows.map((row) => row.retention_days),
  ];
}

/**
 * Writes prepared rows in one statement, inside the caller's transaction when `database` is
 * one. A row already stored keeps its bytes and gets the later of its expiry and this
 * reference's. (The audit writer stores an event's content inside audit_append_events instead.)
 */
export async function writeContent(rows: readonly PreparedContent[], database: Queryable): Promise<void> {
  if (rows.length === 0) return;
  await database.query('SELECT audit_store_content($1::uuid[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::int[])', contentColumns(rows));
}

/** Stores one piece of content on its own; to store content with its event, pass it to append(). */
export async function storeContent(input: StoreContentInput, database: Queryable = pool()): Promise<ContentRef> {
  const prepared = prepareContent(input);
  await writeContent([prepared], database);
  return prepared.ref;
}

export interface ContentRow {
  sha256: string;
  media_type: string;
  body: string;
}

/** Throws ContentIntegrityError unless the body hashes to the sha256 it was loaded by. */
export function checkContentIntegrity(row: ContentRow): void {
  if (digestText(row.body).sha256 !== row.sha256) {
    throw new ContentIntegrityError(`content ${row.sha256} does not match its SHA-256 (edited content)`);
  }
}

function checkedSha256(sha256: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('sha256 must be 64 lowercase hex characters');
  return Buffer.from(sha256, 'hex');
}

/** The tenant's content behind a content_ref, or null when unknown, expired or purged. */
export async function loadContent(tenantId: string, sha256: string, database: Queryable = pool()): Promise<StoredContent | null> {
  const { rows } = await database.query<{
    tenant_id: string;
    kind: ContentKind;
    media_type: string;
    body: string;
    byte_size: number;
    created_at: Date;
    expires_at: Date | null;
  }>(
    `SELECT tenant_id::text AS tenant_id, kind, media_type, body, byte_size, created_at, expires_at
     FROM audit_content WHERE tenant_id = $1 AND sha256 = $2 AND (expires_at IS NULL OR expires_at > now())`,
    [z.guid().parse(tenantId), checkedSha256(sha256)],
  );
  const row = rows[0];
  if (!row) return null;
  checkContentIntegrity({ sha256, ...row });
  return { sha256, ...row };
}

/** The tenant's unexpired rows among `sha256s` (any order; missing ones are simply absent). */
export async function loadContentRows(tenantId: string, sha256s: readonly string[], database: Queryable = pool()): Promise<Map<string, ContentRow>> {
  const { rows } = await database.query<ContentRow>(
    `SELECT encode(sha256, 'hex') AS sha256, media_type, body FROM audit_content
     WHERE tenant_id = $1 AND sha256 = ANY($2::bytea[]) AND (expires_at IS NULL OR expires_at > now())`,
    [tenantId, sha256s.map(checkedSha256)],
  );
  for (const row of rows) checkContentIntegrity(row);
  return new Map(rows.map((row) => [row.sha256, row]));
}

export interface PurgeOptions {
  /** Rows deleted per statement (and per transaction); bounds lock time and WAL bursts. */
  batchSize?: number;
  /** Statements per call at most; what is left waits for the next run. */
  maxBatches?: number;
}

export interface PurgeResult {
  purged: number;
  batches: number;
  /** False when maxBatches stopped the purge with expired content left. */
  complete: boolean;
}

/** A purge failed part-way; the batches before the failure are committed and counted here. */
export class ContentPurgeError extends Error {
  constructor(
    message: string,
    readonly purged: number,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'ContentPurgeError';
  }
}

/**
 * Deletes expired content in bounded batches through audit_purge_expired_content (SECURITY
 * DEFINER: the app role has no DELETE on audit_content, and the database's clock decides what
 * has expired). Events reference content by hash only, so chains are untouched; loadContent of
 * a purged ref returns null.
 */
export async function purgeExpiredContent(options: PurgeOptions = {}, database: Queryable = pool()): Promise<PurgeResult> {
  const batchSize = options.batchSize ?? 1_000;
  const maxBatches = options.maxBatches ?? 1_000;
  let purged = 0;
  for (let batches = 1; ; batches++) {
    let count: number;
    try {
      const { rows } = await database.query<{ purged: number }>('SELECT audit_purge_expired_content($1) AS purged', [batchSize]);
      count = rows[0]?.purged ?? 0;
    } catch (error) {
      throw new ContentPurgeError(`purging expired content failed after ${purged} row(s): ${error instanceof Error ? error.message : String(error)}`, purged, { cause: error });
    }
    purged += count;
    if (count < batchSize) return { purged, batches, complete: true };
    if (batches >= maxBatches) return { purged, batches, complete: false };
  }
}
