import { appendAuditEvent, prepareContent, type JsonValue, type PreparedContent } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { displayName } from './load';
import type { ConfigReloadRecord } from './store';

/**
 * The tenant system events belong to: the installation's own, recorded once at first start
 * (lib/users/tenant.ts), whatever tenant.slug gatehouse.yaml says today. Null before the first
 * start. Read-only on purpose: recording an event must never create a tenant as a side effect.
 */
export async function systemTenantId(): Promise<string | null> {
  const installation = await db().installation.findUnique({ where: { id: 1 }, select: { tenantId: true } });
  return installation?.tenantId ?? null;
}

/** Where a system event is recorded: the installation's tenant, or (tests) a tenant of their own. */
export type SystemTenant = () => Promise<string | null>;

/**
 * Appends a `config.reload` audit event. Changing policy is itself an auditable act, and a refused
 * edit is recorded too: someone tried to change what Gatehouse enforces. Without a database
 * (CLI checks, unit runs) or before bootstrap created a tenant there is no chain to append to.
 */
export async function recordConfigReloadAudit(record: ConfigReloadRecord, systemTenant: SystemTenant = systemTenantId): Promise<void> {
  if (!process.env.DATABASE_URL) return;
  const effective = record.outcome === 'success' ? record.next : record.previous;
  const tenantId = await systemTenant();
  if (!tenantId) return;
  // Both configurations in the content store ([previous, next] in content_refs), so the policy
  // page can show what a reload changed and name the terms an old decision's rule points at.
  // The event matters more than the copies: if they cannot be stored, it is recorded without them.
  let content: PreparedContent[] = [];
  let notStored: string | null = null;
  if (record.outcome === 'success') {
    try {
      content = [record.previous, record.next].map((snapshot) => prepareContent({ tenant_id: tenantId, kind: 'other', body: JSON.parse(JSON.stringify(snapshot.config)) as JsonValue }));
    } catch (error) {
      notStored = (error instanceof Error ? error.message : String(error)).slice(0, 4000);
    }
  }
  await appendAuditEvent({
    tenant_id: tenantId,
    event_type: 'config.reload',
    action: 'config.reload',
    outcome: record.outcome,
    call_source: 'system',
    policy_version: effective.policyVersion,
    target: { type: 'config', name: displayName(effective.path) },
    attributes: {
      previous_policy_version: record.previous.policyVersion,
      ...(record.outcome === 'success' ? { policy_version: record.next.policyVersion } : {}),
      ...(notStored ? { config_not_stored: notStored } : {}),
    },
    ...(record.outcome === 'failure'
      ? { error: { type: 'config_invalid', message: record.error.message.slice(0, 4000) } }
      : content.length ? { content_refs: content.map((prepared) => prepared.ref) } : {}),
  }, { content });
}
