/**
 * An upper estimate of a request's input tokens, for rate limits and the budget reservation
 * before the upstream reports real usage. Text is counted at one token per 3 UTF-8 bytes (Claude's
 * tokenizer averages nearer 4 for prose; code and non-Latin text come closer to 3); images and
 * documents at a flat rate, since their base64 size says little about their token cost.
 */
const BYTES_PER_TOKEN = 3;
const TOKENS_PER_ATTACHMENT = 1_600;
// Role markers, tool schemas' framing and the like.
const OVERHEAD_TOKENS = 16;

function measure(value: unknown, totals: { bytes: number; attachments: number }, depth = 0): void {
  if (depth > 64) return;
  if (typeof value === 'string') {
    totals.bytes += Buffer.byteLength(value);
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    totals.bytes += 4;
  } else if (Array.isArray(value)) {
    for (const item of value) measure(item, totals, depth + 1);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if ((record.type === 'base64' || record.type === 'url' || record.type === 'file') && ('data' in record || 'url' in record || 'file_id' in record)) {
      totals.attachments += 1;
      return;
    }
    for (const key of Object.keys(record)) {
      totals.bytes += key.length;
      measure(record[key], totals, depth + 1);
    }
  }
}

export function estimateInputTokens(body: Record<string, unknown>): number {
  const totals = { bytes: 0, attachments: 0 };
  measure(body.system, totals);
  measure(body.messages, totals);
  measure(body.tools, totals);
  return OVERHEAD_TOKENS + Math.ceil(totals.bytes / BYTES_PER_TOKEN) + totals.attachments * TOKENS_PER_ATTACHMENT;
}
