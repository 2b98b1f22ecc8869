import { createHash } from 'node:crypto';

/** The SHA-256 of a text's UTF-8 bytes (lower-case hex) and how many bytes they are. */
export interface TextDigest {
  sha256: string;
  byteSize: number;
}

/**
 * The one place content is hashed. Content is addressed by this digest, so a caller that already
 * hashed a row's text (the gateway, to key its scan cache) hands the digest on instead of hashing
 * the same bytes again; tests count calls here to prove it.
 */
export function digestText(text: string): TextDigest {
  // Hashed from the string itself: no copy of a prompt's bytes is made just to hash them.
  return { sha256: createHash('sha256').update(text, 'utf8').digest('hex'), byteSize: Buffer.byteLength(text, 'utf8') };
}
