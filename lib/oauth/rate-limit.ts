import { db } from '@/lib/db/client';

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the current window ends. */
  retryAfterSeconds: number;
}

/**
 * A fixed-window counter in PostgreSQL, shared by every process. Counts this hit and reports
 * whether it is within `limit` for the window (one upsert, so concurrent hits cannot both slip).
 */
export async function hitRateLimit(bucket: string, key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
  const windowMs = windowSeconds * 1000;
  const now = Date.now();
  const windowStart = new Date(Math.floor(now / windowMs) * windowMs);
  const rows = await db().$queryRaw<{ hits: number }[]>`
    INSERT INTO oauth_rate_limits (bucket, key, window_start, hits) VALUES (${bucket}, ${key}, ${windowStart}, 1)
    ON CONFLICT (bucket, key, window_start) DO UPDATE SET hits = oauth_rate_limits.hits + 1
    RETURNING hits`;
  const hits = rows[0]?.hits ?? 1;
  return { allowed: hits <= limit, retryAfterSeconds: Math.max(1, Math.ceil((windowStart.getTime() + windowMs - now) / 1000)) };
}
