/**
 * Upper estimates of what a request will be billed, for rate limits and the budget reservation
 * before the upstream reports real usage, and for billing when it never does. Text is counted at
 * one token per 3 UTF-8 bytes (Claude's tokenizer averages nearer 4 for prose; code and non-Latin
 * text come closer to 3). Images and PDFs are estimated from what they are (see attachments.ts).
 */
import { attachmentTokens, isAttachmentSource } from './attachments';
import { MAX_JSON_DEPTH } from './body';

export const BYTES_PER_TOKEN = 3;
// Role markers, tool schemas' framing and the like.
const OVERHEAD_TOKENS = 16;
// Anthropic sets no limit on web searches unless the tool says max_uses; this many are reserved then.
export const DEFAULT_WEB_SEARCH_RESERVE = 10;

interface Totals {
  bytes: number;
  attachmentTokens: number;
}

/** `depth` is the bracket depth of `value` as the parser counts it (the body object is 1). */
function measure(value: unknown, totals: Totals, depth: number): void {
  if (typeof value === 'string') {
    totals.bytes += Buffer.byteLength(value);
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    totals.bytes += 4;
  } else if (depth > MAX_JSON_DEPTH) {
    // The parser refuses deeper nesting, so no content it let in is ever skipped here.
  } else if (Array.isArray(value)) {
    for (const item of value) measure(item, totals, depth + 1);
  } else if (typeof value === 'object' && value !== null) {
    if (isAttachmentSource(value)) {
      totals.attachmentTokens += attachmentTokens(value, 'unknown');
      return;
    }
    const record = value as Record<string, unknown>;
    const kind = record.type === 'image' || record.type === 'document' ? record.type : null;
    for (const key of Object.keys(record)) {
      totals.bytes += key.length;
      const field = record[key];
      if (kind && key === 'source' && isAttachmentSource(field)) totals.attachmentTokens += attachmentTokens(field, kind);
      else measure(field, totals, depth + 1);
    }
  }
}

/** The prompt's tokens, erring long: system, messages (attachments included) and tool definitions. */
export function estimateInputTokens(body: Record<string, unknown>): number {
  const totals: Totals = { bytes: 0, attachmentTokens: 0 };
  // Depth 1 is the body object itself, as the parser counts.
  measure(body.system, totals, 2);
  measure(body.messages, totals, 2);
  measure(body.tools, totals, 2);
  return OVERHEAD_TOKENS + Math.ceil(totals.bytes / BYTES_PER_TOKEN) + totals.attachmentTokens;
}

/** Output tokens from the UTF-8 bytes an answer carried (text, tool input, thinking), erring long like the input. */
export function estimateOutputTokens(outputBytes: number): number {
  return Number.isFinite(outputBytes) && outputBytes > 0 ? Math.ceil(outputBytes / BYTES_PER_TOKEN) : 0;
}

/** Paid server tools the request lets the upstream run: web searches, up to each tool's max_uses. */
export function serverToolAllowance(body: Record<string, unknown>): { webSearches: number } {
  let webSearches = 0;
  if (!Array.isArray(body.tools)) return { webSearches };
  for (const tool of body.tools) {
    if (typeof tool !== 'object' || tool === null) continue;
    const { type, max_uses: maxUses } = tool as Record<string, unknown>;
    if (typeof type !== 'string' || !type.startsWith('web_search')) continue;
    webSearches += typeof maxUses === 'number' && Number.isSafeInteger(maxUses) && maxUses > 0 ? maxUses : DEFAULT_WEB_SEARCH_RESERVE;
  }
  return { webSearches };
}
