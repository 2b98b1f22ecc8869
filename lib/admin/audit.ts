import { appendAuditEvent, type AuditOutcome } from '@/lib/audit';
import type { AdminActor } from './actor';

export interface AdminTarget {
  type: 'user' | 'role' | 'department' | 'role_binding' | 'oauth_session' | 'oauth_client' | 'siem_sink' | 'rollout_settings' | 'budget' | 'mcp_server' | 'tool_policy_rule';
  id?: string;
  name?: string;
}

/** One `admin.change` event per change made (or refused) in the dashboard (or the CLI, or the API). */
export async function recordAdminChange(
  actor: AdminActor,
  action: string,
  target: AdminTarget | undefined,
  attributes: Record<string, string | number | boolean> = {},
  outcome: AuditOutcome = 'success',
): Promise<void> {
  await appendAuditEvent({
    tenant_id: actor.tenantId,
    event_type: 'admin.change',
    action,
    outcome,
    actor: { user_id: actor.userId, email: actor.email, roles: actor.roles },
    call_source: actor.callSource ?? 'dashboard',
    target,
    attributes,
  });
}
