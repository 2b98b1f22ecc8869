import { appendAuditEvent, countAuditEvent, type AuditEventInput } from '@/lib/audit';
import type { AuditOutcome } from '@/lib/audit/event';
import { clientIp, userAgent } from '@/lib/http/client-ip';
import { primaryTenantId } from '@/lib/users/tenant';

/**
 * The shared audit vocabulary has no token-specific event types, so the identity plane records
 * under the closest ones: issuing and refreshing tokens, device approval and consent are
 * `auth.sign_in` (actions token.issue, token.refresh, device.approve, consent.grant, ...),
 * ending a sign-in is `auth.sign_out` (session.revoke), and client registration and key rotation
 * are `admin.change`.
 */
export type OAuthAuditType = 'auth.sign_in' | 'auth.sign_out' | 'admin.change';

export interface OAuthAuditActor {
  userId?: string;
  email?: string;
  department?: string | null;
  roles?: string[];
}

export interface OAuthAuditEvent {
  tenantId: string;
  type: OAuthAuditType;
  action: string;
  outcome: AuditOutcome;
  actor?: OAuthAuditActor;
  /** The OAuth client_id involved, if any. */
  clientId?: string;
  sessionId?: string;
  request?: Request;
  callSource?: string;
  target?: { type: string; id?: string; name?: string };
  attributes?: Record<string, string | number | boolean>;
}

function withoutEmpty(attributes: Record<string, string | number | boolean | undefined | null>): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined && v !== null && v !== '')) as Record<string, string | number | boolean>;
}

function oauthAuditEvent(event: OAuthAuditEvent): AuditEventInput {
  const ip = event.request ? clientIp(event.request) : undefined;
  const agent = event.request ? userAgent(event.request) : undefined;
  return {
    tenant_id: event.tenantId,
    event_type: event.type,
    action: event.action,
    outcome: event.outcome,
    actor: event.actor
      ? { user_id: event.actor.userId, email: event.actor.email, department: event.actor.department ?? undefined, roles: event.actor.roles ?? [] }
      : undefined,
    client_id: event.clientId,
    session_id: event.sessionId,
    call_source: event.callSource ?? 'oauth',
    target: event.target,
    origin: ip || agent ? { ip, user_agent: agent } : undefined,
    attributes: event.attributes ? withoutEmpty(event.attributes) : undefined,
  };
}

export async function auditOAuth(event: OAuthAuditEvent): Promise<void> {
  await appendAuditEvent(oauthAuditEvent(event));
}

/**
 * A refusal a client may repeat in a loop (a refresh with a dead token, retried on every start):
 * counted per user (or client address when no user is known), action and minute, and written as
 * one event with the count and a tally of `tally`'s values (see lib/audit/counted.ts).
 */
export function countOAuthRefusal(event: OAuthAuditEvent, tally: Record<string, string>): void {
  const ip = event.request ? clientIp(event.request) : undefined;
  const subject = event.actor?.userId ? `user:${event.actor.userId}` : `ip:${ip ?? 'unknown'}`;
  countAuditEvent({ key: `${event.action}\u0000${event.tenantId}\u0000${subject}`, event: oauthAuditEvent(event), tally });
}

/** A client metadata document Gatehouse would not use: counted per address and minute. */
export async function countClientMetadataRefusal(request: Request, clientId: string, error: Error): Promise<void> {
  countOAuthRefusal(
    { tenantId: await primaryTenantId(), type: 'admin.change', action: 'client.metadata_document', outcome: 'denied', request, clientId: clientId.slice(0, 2000) },
    { reason: error.message.slice(0, 100) },
  );
}
