import { createHash } from 'node:crypto';
import { z } from 'zod';
import { pool } from '@/lib/db/client';
import { canonicalJson } from './canonical';
import { CONTENT_KINDS, type ContentKind } from './event';
import type { Queryable } from './queryable';

/**
 * Prompts, completions and tool payloads live apart from the chain, under their own retention:
 * an event carries only {kind, sha256, byte_size} in content_refs, so expiring content never
 * breaks a hash chain, and reading content can be permissioned separately from reading events.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StoreContentInput {
  tenant_id: string;
  kind: ContentKind;
  /** Text is stored as given; any other JSON value as RFC 8785 canonical JSON, so equal values dedupe. */
  body: JsonValue;
  media_type?: string;
  /** Days until the content may be purged; absent means kept until removed by policy. */
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

export const MAX_CONTENT_BYTES = 16 * 1024 * 1024;

const optionsSchema = z.strictObject({
  tenant_id: z.guid(),
  kind: z.enum(CONTENT_KINDS),
  media_type: z.string().min(1).max(200).optional(),
  retention_days: z.number().int().positive().max(36_500).optional(),
});

function serialise(body: JsonValue, mediaType: string | undefined): { text: string; mediaType: string } {
  if (typeof body === 'string') return { text: body, mediaType: mediaType ?? 'text/plain; charset=utf-8' };
  return { text: canonicalJson(body), mediaType: mediaType ?? 'application/json' };
}

export async function storeContent(input: StoreContentInput, database: Queryable = pool()): Promise<ContentRef> {
  const { body, ...options } = input;
  const { tenant_id, kind, media_type, retention_days } = optionsSchema.parse(options);
  const { text, mediaType } = serialise(body, media_type);
  if (text.includes('\u0000') || !text.isWellFormed()) {
    throw new Error('content must not contain NUL characters or unpaired surrogates (PostgreSQL text cannot hold them)');
  }
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_CONTENT_BYTES) throw new Error(`content is ${bytes.length} bytes, over the ${MAX_CONTENT_BYTES} limit`);
  const sha256 = createHash('sha256').update(bytes).digest();

  // Same bytes, same row: the first writer's row (and its retention) stands. The app role may
  // not UPDATE audit_content, so a later, longer retention cannot extend it.
  await database.query(
    `INSERT INTO audit_content (sha256, tenant_id, kind, media_type, body, byte_size, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(days => $7::int) END)
     ON CONFLICT (sha256) DO NOTHING`,
    [sha256, tenant_id.toLowerCase(), kind, mediaType, text, bytes.length, retention_days ?? null],
  );
  return { kind, sha256: sha256.toString('hex'), byte_size: bytes.length };
}

/** The content behind a content_ref, or null when unknown or past its retention. */
export async function loadContent(sha256: string, database: Queryable = pool()): Promise<StoredContent | null> {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('sha256 must be 64 lowercase hex characters');
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
     FROM audit_content WHERE sha256 = $1 AND (expires_at IS NULL OR expires_at > now())`,
    [Buffer.from(sha256, 'hex')],
  );
  const row = rows[0];
  return row ? { sha256, ...row } : null;
}
