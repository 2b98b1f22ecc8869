/** One upstream attempt of a call, as the response event's `attempts` attribute lists them. */
export interface UpstreamAttempt {
  /** `provider/model`. */
  target: string;
  outcome: string;
  status: number | null;
  durationMs: number | null;
}

/**
 * `anthropic/claude-sonnet-4-5:server_error:529:120ms, bedrock/claude-sonnet-4-5:success:200:900ms`
 * (lib/gateway/evidence describeAttempts) → the failover path, in order. The status is absent
 * when the upstream never answered. Model ids hold no `:`; a part that does not parse is kept whole.
 */
export function parseAttempts(text: unknown): UpstreamAttempt[] {
  if (typeof text !== 'string' || !text.trim()) return [];
  return text.split(', ').map((part) => {
    const match = /^(.+?):([a-z_]+)(?::(\d{3}))?:(\d+)ms$/.exec(part.trim());
    if (!match) return { target: part.trim(), outcome: 'unknown', status: null, durationMs: null };
    return { target: match[1]!, outcome: match[2]!, status: match[3] ? Number(match[3]) : null, durationMs: Number(match[4]) };
  });
}
