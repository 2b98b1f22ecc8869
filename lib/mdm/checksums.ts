import { pool } from '@/lib/db/client';
import { runInBackground } from '@/lib/platform/background';
import { createThrottle } from '@/lib/platform/throttle';

/**
 * Which managed settings machines run under. Gatehouse records every checksum it hands out (a
 * /managed/settings document, a generated managed-settings.json); Claude Code sessions report the
 * checksum of what they loaded (x-claude-code-managed-settings-checksum). A session reporting a
 * checksum never issued, or one replaced over an hour ago, or none at all, is stale or unmanaged.
 * The client computes the value itself, so this finds machines to fix; it proves nothing.
 */

const WRITE_INTERVAL_MS = 10 * 60_000;
/** A replaced checksum stays current this long: sessions poll for new settings about hourly. */
export const CHECKSUM_GRACE_MS = 60 * 60_000;

const globalThrottles = globalThis as typeof globalThis & { __gatehouseSettingsThrottle?: ReturnType<typeof createThrottle> };
function throttle() {
  globalThrottles.__gatehouseSettingsThrottle ??= createThrottle(WRITE_INTERVAL_MS);
  return globalThrottles.__gatehouseSettingsThrottle;
}

export type ChecksumSource = 'served' | 'file';

export async function recordIssuedChecksum(tenantId: string, checksum: string, source: ChecksumSource): Promise<void> {
  await pool().query(
    `INSERT INTO managed_settings_checksums (tenant_id, checksum, source) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, checksum) DO UPDATE SET last_issued_at = now()`,
    [tenantId, checksum, source],
  );
}

/** From the request path: at most one write per checksum and process every ten minutes. */
export function noteIssuedChecksum(tenantId: string, checksum: string, source: ChecksumSource): void {
  if (!throttle().due(`issued\u0000${tenantId}\u0000${checksum}`)) return;
  runInBackground('recording an issued managed-settings checksum', () => recordIssuedChecksum(tenantId, checksum, source));
}

export interface SettingsReport {
  tenantId: string;
  userId: string;
  sessionKey: string;
  /** Null when the client sent none. */
  checksum: string | null;
  client: string | null;
}

export async function recordSettingsReport(report: SettingsReport): Promise<void> {
  await pool().query(
    `INSERT INTO client_settings_reports (tenant_id, user_id, session_key, checksum, client) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, user_id, session_key, checksum) DO UPDATE SET last_seen_at = now(), client = EXCLUDED.client`,
    [report.tenantId, report.userId, report.sessionKey, report.checksum ?? '', report.client?.slice(0, 200) ?? null],
  );
}

const CLAUDE_CODE_AGENT = /^claude-(cli|code)\b/i;
const CHECKSUM = /^sha256:[0-9a-f]{64}$/;

/**
 * Notes what a Claude Code request says about its managed settings. Other clients are not
 * Claude Code sessions and are skipped; a malformed value counts as none.
 */
export function noteSettingsReport(headers: { get(name: string): string | null }, caller: { tenantId: string; userId: string; sessionId: string }): void {
  const agent = headers.get('user-agent') ?? '';
  const sent = headers.get('x-claude-code-managed-settings-checksum')?.trim() ?? null;
  if (!sent && !CLAUDE_CODE_AGENT.test(agent)) return;
  const checksum = sent && CHECKSUM.test(sent) ? sent : null;
  const sessionKey = headers.get('x-claude-code-session-id')?.trim().slice(0, 100) || caller.sessionId;
  if (!throttle().due(`report\u0000${caller.userId}\u0000${sessionKey}\u0000${checksum ?? ''}`)) return;
  runInBackground('recording a managed-settings report', () =>
    recordSettingsReport({ tenantId: caller.tenantId, userId: caller.userId, sessionKey, checksum, client: agent || null }),
  );
}

export type MachineState = 'current' | 'outdated' | 'unmanaged';

export interface MachineRow {
  userId: string;
  email: string;
  sessionKey: string;
  checksum: string | null;
  client: string | null;
  lastSeenAt: Date;
  state: MachineState;
}

/**
 * Claude Code sessions seen in the last `days`, newest report per session, each judged: current
 * (a served document's checksum still being served, allowing an hour for sessions to poll, or the
 * newest generated managed-settings.json's, or one replaced less than an hour ago), outdated
 * (any other value), or unmanaged (no checksum).
 */
export async function machineSettingsStates(tenantId: string, days = 14): Promise<MachineRow[]> {
  const { rows } = await pool().query<{ user_id: string; email: string; session_key: string; checksum: string; client: string | null; last_seen_at: Date; current: boolean }>(
    `SELECT DISTINCT ON (r.user_id, r.session_key)
            r.user_id, u.email, r.session_key, r.checksum, r.client, r.last_seen_at,
            EXISTS (SELECT 1 FROM managed_settings_checksums c
                     WHERE c.tenant_id = r.tenant_id AND c.checksum = r.checksum
                       AND ((c.source = 'served' AND c.last_issued_at > now() - make_interval(secs => $3::double precision / 1000))
                         OR (c.source = 'file' AND NOT EXISTS (
                               SELECT 1 FROM managed_settings_checksums n
                                WHERE n.tenant_id = c.tenant_id AND n.source = 'file' AND n.first_issued_at > c.last_issued_at
                                  AND n.first_issued_at < now() - make_interval(secs => $4::double precision / 1000))))) AS current
       FROM client_settings_reports r JOIN users u ON u.id = r.user_id
      WHERE r.tenant_id = $1 AND r.last_seen_at > now() - make_interval(days => $2)
      ORDER BY r.user_id, r.session_key, r.last_seen_at DESC`,
    [tenantId, days, CHECKSUM_GRACE_MS + WRITE_INTERVAL_MS, CHECKSUM_GRACE_MS],
  );
  return rows
    .map((row) => ({
      userId: row.user_id,
      email: row.email,
      sessionKey: row.session_key,
      checksum: row.checksum || null,
      client: row.client,
      lastSeenAt: row.last_seen_at,
      state: (!row.checksum ? 'unmanaged' : row.current ? 'current' : 'outdated') as MachineState,
    }))
    .sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
}
