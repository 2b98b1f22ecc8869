import { appendAuditEvent, type AuditOutcome } from '@/lib/audit';

export type GrantAction = 'connect' | 'disconnect' | 'refresh' | 'revoke';

export interface GrantEvent {
  tenantId: string;
  user: { id: string; email?: string; roles?: string[] };
  server: { id?: string; name: string };
  action: GrantAction;
  outcome: AuditOutcome;
  /** A short code (`refresh_failed`, `browser_session_mismatch` …) and what the person was told; never a token. */
  reason?: string;
  attributes?: Record<string, string | number | boolean>;
  callSource?: string;
}

/**
 * One `mcp.upstream_grant` event (action connect | disconnect | refresh | revoke) per change to a
 * person's grant at a registered server, and per refusal on the way to one. Callers pass names,
 * issuers, scopes and reasons: no token or code ever reaches the audit trail.
 */
export async function recordGrantEvent(event: GrantEvent): Promise<void> {
  await appendAuditEvent({
    tenant_id: event.tenantId,
    event_type: 'mcp.upstream_grant',
    action: event.action,
    outcome: event.outcome,
    actor: { user_id: event.user.id, ...(event.user.email ? { email: event.user.email } : {}), roles: event.user.roles ?? [] },
    call_source: event.callSource ?? 'dashboard',
    target: { type: 'mcp_server', ...(event.server.id ? { id: event.server.id } : {}), name: event.server.name },
    mcp: { server: event.server.name, method: `upstream_grant.${event.action}` },
    ...(event.reason && event.outcome !== 'success' ? { error: { type: event.reason.slice(0, 100) } } : {}),
    attributes: { ...(event.reason ? { reason: event.reason.slice(0, 1000) } : {}), ...event.attributes },
  });
}
