import { pool } from '@/lib/db/client';
import { RETIRED_KEY_VERIFY_SECONDS } from './config';

/** The channel the revocation_changes triggers notify on (see that migration). */
export const REVOCATION_CHANNEL = 'gatehouse_revocations';

/**
 * How long noted changes are kept: a reader that has not caught up for this long reads everything
 * again. A subject deleted while revoked (only its change row says so) must count for as long as a
 * token of it may verify, RETIRED_KEY_VERIFY_SECONDS, plus an hour's margin.
 */
export const REVOCATION_CHANGES_KEPT_SECONDS = RETIRED_KEY_VERIFY_SECONDS + 60 * 60;

/**
 * Where a reader stands: the snapshot its last read used (pg_snapshot text). The next read asks
 * for the changes of every transaction that snapshot could not see: in progress then, or begun
 * after. (Its xmin alone would do too, but one long open transaction would then make every read
 * re-read all changes since that transaction began.)
 */
export type RevocationCursor = string;

export interface RevocationSnapshot {
  cursor: RevocationCursor;
  disabledUsers: string[];
  /** Sign-ins revoked recently enough that a token of theirs may still be live, with when (ms). */
  revokedSessions: [string, number][];
}

export interface RevocationChanges {
  cursor: RevocationCursor;
  /**
   * The cursor names transactions this server has not reached (the database was restored to an
   * earlier point, or the process now talks to another cluster): changes made under the ids in
   * between would never be asked for, so the caller must read everything again.
   */
  cursorAhead: boolean;
  /** Each changed user, and whether it counts as disabled now. */
  users: [string, boolean][];
  /** Each changed sign-in, and when it was revoked if it still counts (null: drop it). */
  sessions: [string, number | null][];
}

// Sessions revoked longer ago than any token can live cannot have a live token left.
const liveRevocation = (column: string) => `${column} > now() - make_interval(secs => ${RETIRED_KEY_VERIFY_SECONDS})`;
const epochMs = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;

// A noted row that no longer exists was deleted while disabled or revoked (only such deletions
// are noted): a token naming it may still be live, so it keeps counting until no token of it can
// be (the longest token lifetime after the deletion). Deleting is not a way to revoke.
const deletedSince = (subject: 'user' | 'session', table: string) => `
  SELECT c.subject_id, max(c.changed_at) AS changed_at FROM revocation_changes c
   WHERE c.subject = '${subject}' AND ${liveRevocation('c.changed_at')} AND NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.id = c.subject_id)
   GROUP BY c.subject_id`;

// One statement, so the cursor and the sets come from the same snapshot.
const FULL_READ = `
  SELECT pg_current_snapshot()::text AS cursor,
         ARRAY(SELECT id::text FROM users WHERE status = 'disabled'
               UNION ALL SELECT d.subject_id::text FROM (${deletedSince('user', 'users')}) d) AS users,
         ARRAY(SELECT json_build_array(id::text, ${epochMs('revoked_at')})
                 FROM oauth_sessions WHERE ${liveRevocation('revoked_at')}
               UNION ALL SELECT json_build_array(d.subject_id::text, ${epochMs('d.changed_at')})
                 FROM (${deletedSince('session', 'oauth_sessions')}) d) AS sessions`;

const CHANGES_READ = `
  WITH changed AS (SELECT subject, subject_id, max(changed_at) AS changed_at FROM revocation_changes
                    WHERE tx >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(tx, $1::pg_snapshot)
                    GROUP BY subject, subject_id)
  SELECT pg_current_snapshot()::text AS cursor,
         pg_snapshot_xmax($1::pg_snapshot) > pg_snapshot_xmax(pg_current_snapshot()) AS cursor_ahead,
         ARRAY(SELECT json_build_array(c.subject_id::text,
                        CASE WHEN u.id IS NULL THEN ${liveRevocation('c.changed_at')} ELSE u.status = 'disabled' END)
                 FROM changed c LEFT JOIN users u ON u.id = c.subject_id WHERE c.subject = 'user') AS users,
         ARRAY(SELECT json_build_array(c.subject_id::text,
                        CASE WHEN s.id IS NULL THEN CASE WHEN ${liveRevocation('c.changed_at')} THEN ${epochMs('c.changed_at')} END
                             WHEN ${liveRevocation('s.revoked_at')} THEN ${epochMs('s.revoked_at')} END)
                 FROM changed c LEFT JOIN oauth_sessions s ON s.id = c.subject_id WHERE c.subject = 'session') AS sessions`;

interface Row<U, S> {
  cursor: string;
  cursor_ahead?: boolean;
  users: U[];
  sessions: S[];
}

/** Every disabled user and every sign-in revoked within the longest token lifetime. */
export async function readRevocationSnapshot(): Promise<RevocationSnapshot> {
  const { rows } = await pool().query<Row<string, [string, string | number]>>(FULL_READ);
  const row = rows[0]!;
  return { cursor: row.cursor, disabledUsers: row.users, revokedSessions: row.sessions.map(([id, at]) => [id, Number(at)]) };
}

/** The current state of every user and sign-in whose revocation changed at or after `cursor`. */
export async function readRevocationChanges(cursor: RevocationCursor): Promise<RevocationChanges> {
  const { rows } = await pool().query<Row<[string, boolean], [string, string | number | null]>>(CHANGES_READ, [cursor]);
  const row = rows[0]!;
  return {
    cursor: row.cursor,
    cursorAhead: row.cursor_ahead === true,
    users: row.users,
    sessions: row.sessions.map(([id, at]) => [id, at === null ? null : Number(at)]),
  };
}

/** Deletes noted changes older than every reader still reads from (housekeeping); returns how many. */
export async function pruneRevocationChanges(): Promise<number> {
  const result = await pool().query(`DELETE FROM revocation_changes WHERE changed_at < now() - make_interval(secs => $1)`, [REVOCATION_CHANGES_KEPT_SECONDS]);
  return result.rowCount ?? 0;
}
