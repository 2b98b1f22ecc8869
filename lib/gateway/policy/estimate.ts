/**
 * Upper estimates of what a request will be billed, for rate limits and the budget reservation
 * before the upstream reports real usage, and for billing when it never does. Text is counted at
 * one token per 3 UTF-8 bytes (Claude's tokenizer averages nearer 4 for prose; code and non-Latin
 * text come closer to 3). Images and PDFs are estimated from what they are (see attachments.ts).
 */
export const BYTES_PER_TOKEN = 3;
// Role markers, tool schemas' framing and the like.
const OVERHEAD_TOKENS = 16;
// Anthropic sets no limit on web searches unless the tool says max_uses; this many are reserved then.
export const DEFAULT_WEB_SEARCH_RESERVE = 10;

/**
 * The prompt's tokens, erring long, from what one walk of system, messages and tool definitions
 * counted (see segments.ts and prompt.ts): the UTF-8 bytes of their strings, the UTF-16 length
 * of their keys and 4 per number or boolean, plus each attachment's own estimate.
 */
export function inputTokens(bytes: number, attachmentTokens: number): number {
  return OVERHEAD_TOKENS + Math.ceil(bytes / BYTES_PER_TOKEN) + attachmentTokens;
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
