/**
 * Token estimates for images and documents, from what they are rather than their base64 size:
 * - an image costs about width × height / 750 tokens once Claude has scaled it to fit (long edge
 *   at most 1,568 px, at most about 1,600 tokens); dimensions are read from the PNG, JPEG, GIF or
 *   WebP header. An image whose size cannot be read (a URL, a file id, an unknown format) is
 *   counted at the bound.
 * - a PDF page is billed as its text (up to about 3,000 tokens) plus an image of the page, so a PDF
 *   costs its page count (its page objects) times 4,600; when the pages cannot be counted, its
 *   size at the text rate, at most 100 pages' worth (the most the upstream accepts). A document by
 *   URL or file id is counted at that bound.
 * - base64 data whose bytes are not an image or a PDF (whatever it claims) is counted as the text
 *   the content inspection reads it as (media-type.ts decides, for both).
 */
import { inflateSync } from 'node:zlib';
import { isRecord } from '@/lib/platform/json';
import { sniffMediaType } from './media-type';

const PIXELS_PER_TOKEN = 750;
const MAX_IMAGE_EDGE = 1_568;
export const MAX_IMAGE_TOKENS = 1_600;
export const TOKENS_PER_PDF_PAGE = 3_000 + MAX_IMAGE_TOKENS;
export const MAX_PDF_PAGES = 100;
const BYTES_PER_TOKEN = 3;
// Object streams are inflated to look for page objects; this bounds what one PDF may inflate to.
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

type Json = Record<string, unknown>;

/** An Anthropic content source whose payload is not text: base64 data, a URL or a file id. */
export function isAttachmentSource(value: unknown): value is Json {
  if (!isRecord(value)) return false;
  const record = value as Json;
  return (record.type === 'base64' && typeof record.data === 'string') || (record.type === 'url' && 'url' in record) || (record.type === 'file' && 'file_id' in record);
}

export interface ImageSize {
  width: number;
  height: number;
}

function pngSize(bytes: Buffer): ImageSize | null {
  if (bytes.length < 24 || bytes.readUInt32BE(0) !== 0x89504e47 || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

function gifSize(bytes: Buffer): ImageSize | null {
  if (bytes.length < 10 || !/^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) return null;
  return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
}

function webpSize(bytes: Buffer): ImageSize | null {
  if (bytes.length < 30 || bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WEBP') return null;
  const chunk = bytes.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = bytes.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: bytes.readUIntLE(24, 3) + 1, height: bytes.readUIntLE(27, 3) + 1 };
  return null;
}

// Start-of-frame markers carry the dimensions; C4 (Huffman), C8 (reserved) and CC (arithmetic) do not.
const JPEG_FRAME_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegSize(bytes: Buffer): ImageSize | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    if (JPEG_FRAME_MARKERS.has(marker)) return { width: bytes.readUInt16BE(offset + 7), height: bytes.readUInt16BE(offset + 5) };
    offset += 2 + bytes.readUInt16BE(offset + 2);
  }
  return null;
}

/** Width and height from the image's header; null for a format or a header this cannot read. */
export function imageSize(bytes: Buffer): ImageSize | null {
  const size = pngSize(bytes) ?? jpegSize(bytes) ?? gifSize(bytes) ?? webpSize(bytes);
  return size && size.width > 0 && size.height > 0 ? size : null;
}

/** What Claude bills for an image of this size: scaled to a long edge of at most 1,568 px, w × h / 750, at most the bound. */
export function imageTokens(size: ImageSize | null): number {
  if (!size) return MAX_IMAGE_TOKENS;
  const scale = Math.min(1, MAX_IMAGE_EDGE / Math.max(size.width, size.height));
  return Math.min(MAX_IMAGE_TOKENS, Math.ceil((size.width * scale * (size.height * scale)) / PIXELS_PER_TOKEN));
}

// `/Type /Page` but not `/Type /Pages`.
const PAGE_OBJECT = /\/Type\s*\/Page(?![A-Za-z0-9#_.-])/g;
const OBJECT_STREAM = /\/Type\s*\/ObjStm\b/g;
const LINEARIZED_PAGES = /\/Linearized\b[^>]*?\/N\s+(\d+)/;

function countPageObjects(text: string): number {
  return text.match(PAGE_OBJECT)?.length ?? 0;
}

/** Page objects inside compressed object streams (PDF 1.5+ writers put most objects there). */
function pagesInObjectStreams(bytes: Buffer, text: string): number {
  let pages = 0;
  let inflated = 0;
  for (const match of text.matchAll(OBJECT_STREAM)) {
    const keyword = text.indexOf('stream', match.index);
    if (keyword < 0) break;
    let start = keyword + 'stream'.length;
    if (text[start] === '\r') start += 1;
    if (text[start] === '\n') start += 1;
    const end = text.indexOf('endstream', start);
    if (end < 0) break;
    try {
      const objects = inflateSync(bytes.subarray(start, end), { maxOutputLength: MAX_INFLATED_BYTES - inflated });
      inflated += objects.length;
      pages += countPageObjects(objects.toString('latin1'));
    } catch {
      // Not Flate, damaged, or over the bound: these objects stay uncounted.
    }
    if (inflated >= MAX_INFLATED_BYTES) break;
  }
  return pages;
}

/** The number of pages of a PDF, or null when it cannot be told. */
export function pdfPageCount(bytes: Buffer): number | null {
  if (sniffMediaType(bytes) !== 'application/pdf') return null;
  const text = bytes.toString('latin1');
  // Page objects in the file and in object streams add up (an incremental update appends plain
  // objects to a compressed PDF): taking the first kind found alone would count one page for a
  // plain page object in front of a hundred compressed ones.
  const objects = countPageObjects(text) + pagesInObjectStreams(bytes, text);
  const pages = Math.max(objects, Number(LINEARIZED_PAGES.exec(text.slice(0, 4096))?.[1] ?? 0));
  return pages > 0 ? pages : null;
}

export function pdfTokens(bytes: Buffer): number {
  const pages = pdfPageCount(bytes);
  if (pages !== null) return Math.min(pages, MAX_PDF_PAGES) * TOKENS_PER_PDF_PAGE;
  return Math.min(MAX_PDF_PAGES * TOKENS_PER_PDF_PAGE, Math.ceil(bytes.length / BYTES_PER_TOKEN));
}

/**
 * Tokens for one attachment source. `kind` is the block it belongs to (`image`, `document`), or
 * `unknown` for a source met elsewhere. Base64 data is judged by what its bytes are, as the policy
 * does: an image or a PDF by its content, anything else as the text the policy reads it as.
 */
export function attachmentTokens(source: Json, kind: 'image' | 'document' | 'unknown'): number {
  if (source.type !== 'base64' || typeof source.data !== 'string') {
    const declared = typeof source.media_type === 'string' ? source.media_type.toLowerCase() : '';
    const document = kind === 'document' || (kind === 'unknown' && declared === 'application/pdf');
    return document ? MAX_PDF_PAGES * TOKENS_PER_PDF_PAGE : MAX_IMAGE_TOKENS;
  }
  const bytes = Buffer.from(source.data, 'base64');
  const actual = sniffMediaType(bytes);
  if (actual === 'application/pdf') return pdfTokens(bytes);
  if (actual?.startsWith('image/')) return imageTokens(imageSize(bytes));
  return Math.ceil(Buffer.byteLength(source.data) / BYTES_PER_TOKEN);
}
