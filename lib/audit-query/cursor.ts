/** Where a keyset page ends: the last row's (occurred_at, event_id), the explorer's sort key. */
export interface Cursor {
  occurredAt: Date;
  eventId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An opaque, URL-safe token for `?after=`. */
export function encodeCursor(cursor: { occurredAt: Date | string; eventId: string }): string {
  const at = typeof cursor.occurredAt === 'string' ? cursor.occurredAt : cursor.occurredAt.toISOString();
  return Buffer.from(`${at}|${cursor.eventId}`, 'utf8').toString('base64url');
}

/** A token from encodeCursor, or null when it is not one (a stale or edited link starts over). */
export function decodeCursor(token: string | null | undefined): Cursor | null {
  if (!token || token.length > 200) return null;
  const [at, eventId] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  if (!at || !eventId || !UUID.test(eventId)) return null;
  const occurredAt = new Date(at);
  return Number.isNaN(occurredAt.getTime()) ? null : { occurredAt, eventId };
}
