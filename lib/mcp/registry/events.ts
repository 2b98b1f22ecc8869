import { recordAdminChange } from '@/lib/admin/audit';
import type { AuditOutcome } from '@/lib/audit';
import { authorize, ForbiddenError } from '@/lib/rbac';
import type { RegistryActor } from './types';

export type RegistryAction = 'register' | 'update' | 'revoke' | 'check' | 'approve' | 'reject' | 'tools' | 'reset_oauth';

export interface RegistrySubject {
  id?: string;
  name: string;
}

/**
 * One `admin.change` event (action `mcp.server.<verb>`, target the server) per registry change
 * or refusal. Attributes never hold a secret: callers pass names, counts, digests and reasons.
 */
export function recordRegistryChange(
  actor: RegistryActor,
  action: RegistryAction,
  server: RegistrySubject,
  attributes: Record<string, string | number | boolean> = {},
  outcome: AuditOutcome = 'success',
): Promise<void> {
  return recordAdminChange(actor, `mcp.server.${action}`, { type: 'mcp_server', ...(server.id ? { id: server.id } : {}), name: server.name }, attributes, outcome);
}

/**
 * Every registry change needs `mcp.admin` granted tenant-wide (servers belong to no department),
 * checked here whoever calls (dashboard, CLI, API); a refusal is recorded before ForbiddenError.
 */
export async function requireRegistryAdmin(actor: RegistryActor, action: RegistryAction, server: RegistrySubject): Promise<void> {
  if (await authorize({ userId: actor.userId, tenantId: actor.tenantId }, 'mcp.admin')) return;
  await recordRegistryChange(actor, action, server, { permission: 'mcp.admin' }, 'denied');
  throw new ForbiddenError('mcp.admin');
}

/** The URL as the audit trail keeps it: origin and path, never a query or fragment (they can hold tokens). */
export function auditedUrl(url: string | null): string {
  if (!url) return '';
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
