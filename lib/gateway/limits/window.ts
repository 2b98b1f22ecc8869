/** Rate limits count in one-minute windows, smoothed over the previous one (a sliding window counter). */
export const WINDOW_MS = 60_000;

export function windowStart(nowMs: number): number {
  return Math.floor(nowMs / WINDOW_MS) * WINDOW_MS;
}

/**
 * How long until a request costing `cost` fits under `limit`, given the counts of the current
 * and previous windows. The previous window's weight shrinks as the current one goes by; once
 * the current window ends its count becomes the previous one and shrinks in turn. A request
 * bigger than the whole limit fits once both windows are empty (a lone oversized request is let
 * through rather than refused for ever).
 */
export function retryAfterMs(input: { current: number; previous: number; cost: number; limit: number; elapsedMs: number; windowMs?: number }): number {
  const windowMs = input.windowMs ?? WINDOW_MS;
  const { current, previous, cost, limit, elapsedMs } = input;
  const remaining = windowMs - elapsedMs;
  const room = limit - cost;
  // Still in this window: wait for the previous window's share to fall to what is left.
  if (current <= room && previous > 0) return Math.max(0, remaining - ((room - current) * windowMs) / previous);
  // Next window: this window's count becomes the previous one and decays from full weight.
  if (current <= 0) return remaining;
  const intoNext = room >= 0 ? Math.max(0, windowMs - (room * windowMs) / current) : windowMs;
  return remaining + intoNext;
}
