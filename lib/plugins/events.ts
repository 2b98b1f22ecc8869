import { appendAuditEvent, newTraceId, type AuditOutcome } from '@/lib/audit';

/** Who did something to a plugin, and through what (dashboard, cli, api, sync). */
export interface PluginActor {
  userId: string;
  tenantId: string;
  email: string;
  roles: string[];
  callSource: 'dashboard' | 'cli' | 'api';
  /** The trace the action belongs to; a new one when absent. */
  traceId?: string;
}

export type PluginAction = 'publish' | 'approve' | 'reject' | 'sign' | 'entitle' | 'unentitle' | 'install' | 'request' | 'fork' | 'review' | 'withdraw' | 'revoke' | 'sync' | 'settings';

export interface PluginEventDetails {
  plugin: { id?: string; name: string; version?: string; digest?: string; signatureVerified?: boolean };
  outcome?: AuditOutcome;
  attributes?: Record<string, string | number | boolean>;
  error?: string;
}

/** One `plugin.lifecycle` event, action `plugin.<verb>`, with the actor's trace id. */
export async function recordPluginEvent(actor: PluginActor, action: PluginAction, details: PluginEventDetails): Promise<string> {
  const traceId = actor.traceId ?? newTraceId();
  await appendAuditEvent({
    tenant_id: actor.tenantId,
    event_type: 'plugin.lifecycle',
    action: `plugin.${action}`,
    outcome: details.outcome ?? 'success',
    trace_id: traceId,
    actor: { user_id: actor.userId, email: actor.email, roles: actor.roles },
    call_source: actor.callSource,
    target: { type: 'plugin', ...(details.plugin.id ? { id: details.plugin.id } : {}), name: details.plugin.name },
    plugin: {
      name: details.plugin.name,
      ...(details.plugin.version ? { version: details.plugin.version } : {}),
      ...(details.plugin.digest ? { sha256: details.plugin.digest } : {}),
      ...(details.plugin.signatureVerified !== undefined ? { signature_verified: details.plugin.signatureVerified } : {}),
    },
    ...(details.error ? { error: { type: 'plugin_error', message: details.error } } : {}),
    ...(details.attributes ? { attributes: details.attributes } : {}),
  });
  return traceId;
}
