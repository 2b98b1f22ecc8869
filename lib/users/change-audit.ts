import { appendAuditEvent, type AuditEventInput } from '@/lib/audit';
import type { ChangeActor } from './users';

/**
 * One `admin.change` event for a change made through lib/users. The actor is whoever asked (an
 * administrator, or the system for the CLI and seeding) and `call_source` says through what, so
 * the CLI's changes and the dashboard's read alike in the audit trail.
 */
export async function recordUserChange(
  tenantId: string,
  action: string,
  actor: ChangeActor,
  details: Pick<AuditEventInput, 'target' | 'attributes'>,
): Promise<void> {
  await appendAuditEvent({
    tenant_id: tenantId,
    event_type: 'admin.change',
    action,
    outcome: 'success',
    actor: { user_id: actor.user_id, email: actor.email, roles: actor.roles ?? [] },
    call_source: actor.call_source,
    ...details,
  });
}
