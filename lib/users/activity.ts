import { pool } from '@/lib/db/client';
import { runInBackground } from '@/lib/platform/background';
import { createThrottle, type Throttle } from '@/lib/platform/throttle';

/**
 * "Last active" for people and their sign-in sessions, so an administrator can find seats nobody
 * uses. Every gateway request counts, but the database hears about a session at most once per
 * interval: the hot path pays a map lookup, and the timestamps are accurate to a few minutes.
 */
const TOUCH_INTERVAL_MS = 5 * 60_000;

const globalActivity = globalThis as typeof globalThis & { __gatehouseActivity?: Throttle };

function touches(): Throttle {
  globalActivity.__gatehouseActivity ??= createThrottle(TOUCH_INTERVAL_MS);
  return globalActivity.__gatehouseActivity;
}

export interface ActiveCaller {
  userId: string;
  /** The OAuth sign-in session the access token belongs to. */
  sessionId: string;
}

/** Writes the user's and the session's last-use time now. */
export async function recordActivity(caller: ActiveCaller, at: Date = new Date()): Promise<void> {
  // One statement for both rows; a row already touched within the last minute is left alone.
  await pool().query(
    `WITH touched_user AS (
       UPDATE users SET last_active_at = $3
        WHERE id = $1 AND (last_active_at IS NULL OR last_active_at < $3::timestamptz - interval '1 minute')
     )
     UPDATE oauth_sessions SET last_used_at = $3
      WHERE id = $2 AND user_id = $1 AND last_used_at < $3::timestamptz - interval '1 minute'`,
    [caller.userId, caller.sessionId, at],
  );
}

/** Notes a request by `caller`; writes in the background when the session was not noted lately. */
export function noteActivity(caller: ActiveCaller, now: number = Date.now()): void {
  if (!touches().due(caller.sessionId, now)) return;
  runInBackground(`recording activity of user ${caller.userId}`, () => recordActivity(caller, new Date(now)));
}
