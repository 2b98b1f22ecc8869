import { appendAuditEvent, loadDocument, type AuditEvent, type ContentKind } from '@/lib/audit';
import { configStore, type PolicyConfig } from '@/lib/config';
import { policySection } from '@/lib/config/schema/policy';
import { authorize } from '@/lib/rbac/authorize';
import { storedConfigRef } from './repository';

/**
 * The policy an event was decided under: the one in force when it carries today's version, else
 * the configuration a `config.reload` stored for that version; null when neither is known.
 */
export async function policyForVersion(tenantId: string, version: string | undefined): Promise<PolicyConfig | null> {
  if (!version) return null;
  try {
    const current = configStore().current();
    if (current.policyVersion === version) return current.config.policy;
  } catch {
    // A broken configuration file is the policy page's news; stored versions still answer.
  }
  const sha256 = await storedConfigRef(tenantId, version);
  if (!sha256) return null;
  const stored = (await loadDocument(tenantId, sha256).catch(() => null)) as { policy?: unknown } | null;
  const parsed = policySection.safeParse(stored?.policy);
  return parsed.success ? parsed.data : null;
}

export interface ViewedContent {
  kind: ContentKind;
  sha256: string;
  byteSize: number;
  /** The document as sent (a prompt reassembled from its manifest); null when expired or purged. */
  body: unknown;
}

/** Who asks to read stored content. */
export interface ContentViewer {
  userId: string;
  tenantId: string;
  email: string;
  roles: readonly string[];
}

/** The viewer holds no tenant-wide `audit.content`; the refusal is recorded. */
export class ContentAccessDenied extends Error {
  constructor() {
    super('reading stored prompts and completions needs the audit.content permission');
    this.name = 'ContentAccessDenied';
  }
}

/**
 * The prompts and completions an event references, for a tenant-wide holder of `audit.content`.
 * The viewing is itself recorded (an `audit.access` event naming the event read and who read
 * it), and so is a refusal; content is returned only once that record is committed.
 */
export async function viewEventContent(viewer: ContentViewer, event: AuditEvent): Promise<ViewedContent[]> {
  const refs = (event.content_refs ?? []).filter((ref) => ref.kind !== 'other');
  const allowed = await authorize({ userId: viewer.userId, tenantId: viewer.tenantId }, 'audit.content');
  await appendAuditEvent({
    tenant_id: viewer.tenantId,
    event_type: 'audit.access',
    action: 'audit.content.view',
    outcome: allowed ? 'success' : 'denied',
    call_source: 'dashboard',
    actor: { user_id: viewer.userId, email: viewer.email, roles: [...viewer.roles] },
    target: { type: 'audit_event', id: event.event_id, name: event.event_type },
    attributes: { viewed_trace_id: event.trace_id, viewed_kinds: refs.map((ref) => ref.kind).join(', ') || 'none' },
    ...(allowed ? {} : { policy: { decision: 'deny' as const, rule: 'rbac.audit.content', reason: 'no role of the viewer grants audit.content' } }),
  });
  if (!allowed) throw new ContentAccessDenied();
  return Promise.all(
    refs.map(async (ref) => ({ kind: ref.kind, sha256: ref.sha256, byteSize: ref.byte_size, body: await loadDocument(viewer.tenantId, ref.sha256).catch(() => null) })),
  );
}
