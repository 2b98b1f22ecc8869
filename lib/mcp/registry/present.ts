import { audienceLabels } from '@/lib/rbac/audience';
import type { ServerRow, VersionRow } from './repository';
import { existingRoleNames, userEmails, userStatuses } from './repository';
import type { PublicOAuthConfig, RecordedTool, RegisteredServer, ScopeEntry, ServerVersion } from './types';

/** The stored oauth_config: the client secret sealed under `sealedClientSecret`. */
export interface StoredOAuthConfig {
  authorizationServer?: string;
  clientId?: string;
  scope?: string;
  sealedClientSecret?: string;
}

export function versionOf(row: VersionRow): ServerVersion {
  return {
    id: row.id,
    version: row.version,
    tools: row.tools as unknown as RecordedTool[],
    toolsDigest: row.toolsDigest,
    source: row.source,
    status: row.status,
    reviewedBy: row.reviewedBy,
    reviewedAt: row.reviewedAt,
    reviewComment: row.reviewComment,
    createdAt: row.createdAt,
  };
}

function publicOAuth(config: unknown): PublicOAuthConfig | null {
  if (!config || typeof config !== 'object') return null;
  const stored = config as StoredOAuthConfig;
  return {
    ...(stored.authorizationServer ? { authorizationServer: stored.authorizationServer } : {}),
    ...(stored.clientId ? { clientId: stored.clientId } : {}),
    ...(stored.scope ? { scope: stored.scope } : {}),
    hasClientSecret: Boolean(stored.sealedClientSecret),
  };
}

/** Whether an entry still names someone: a user deleted or deactivated, or a role deleted, since it was made. */
function staleness(entry: ServerRow['scopes'][number], users: ReadonlyMap<string, 'active' | 'disabled'>, roles: ReadonlySet<string>): ScopeEntry['stale'] {
  if (entry.kind === 'user') {
    const status = users.get(entry.subject);
    return status === undefined ? 'removed' : status === 'active' ? undefined : 'deactivated';
  }
  return entry.kind === 'role' && !roles.has(entry.subject) ? 'removed' : undefined;
}

function scopeEntries(row: ServerRow, labels: readonly string[], users: ReadonlyMap<string, 'active' | 'disabled'>, roles: ReadonlySet<string>): ScopeEntry[] {
  return row.scopes.map((scope, position) => {
    const stale = staleness(scope, users, roles);
    const label = labels[position]!;
    return { kind: scope.kind, subject: scope.subject, ...(stale ? { label: `${label} (${stale})`, stale } : { label }) };
  });
}

/** The role names each tenant of `rows` has, of those their scopes name (roles are per tenant). */
async function existingRolesByTenant(rows: readonly ServerRow[]): Promise<Map<string, Set<string>>> {
  const named = new Map<string, string[]>();
  for (const row of rows) {
    const names = named.get(row.tenantId) ?? [];
    names.push(...row.scopes.filter((scope) => scope.kind === 'role').map((scope) => scope.subject));
    named.set(row.tenantId, names);
  }
  return new Map(await Promise.all([...named].map(async ([tenantId, names]) => [tenantId, await existingRoleNames(tenantId, names)] as const)));
}

/** Rows as the registry hands them out: scope labelled (stale entries marked), owner's email, no sealed values. */
export async function presentServers(rows: readonly ServerRow[]): Promise<RegisteredServer[]> {
  if (rows.length === 0) return [];
  const scopes = rows.flatMap((row) => row.scopes);
  const [emails, labels, users, rolesByTenant] = await Promise.all([
    userEmails(rows.map((row) => row.ownerId)),
    Promise.all(rows.map((row) => audienceLabels(row.tenantId, row.scopes))),
    userStatuses(scopes.filter((scope) => scope.kind === 'user').map((scope) => scope.subject)),
    existingRolesByTenant(rows),
  ]);
  return rows.map((row, index) => {
    const approved = row.versions.find((version) => version.status === 'approved' && version.id === row.approvedVersionId) ?? null;
    const pending = row.versions.find((version) => version.status === 'pending') ?? null;
    return {
      id: row.id,
      tenantId: row.tenantId,
      name: row.name,
      description: row.description,
      owner: { id: row.ownerId, email: emails.get(row.ownerId) ?? null },
      transport: row.transport,
      url: row.url,
      command: row.command,
      args: row.args as string[],
      env: row.env as Record<string, string>,
      upstreamAuth: row.upstreamAuth,
      secretHeader: row.secretHeader,
      hasSecret: row.sealedSecret !== null,
      oauth: publicOAuth(row.oauthConfig),
      allowPrivateNetwork: row.allowPrivateNetwork,
      status: row.status,
      revoked: row.status === 'revoked' && row.revokedAt ? { reason: row.revokedReason ?? '', at: row.revokedAt, by: row.revokedBy } : null,
      scope: scopeEntries(row, labels[index]!, users, rolesByTenant.get(row.tenantId)!),
      approvedVersion: approved ? versionOf(approved) : null,
      pendingVersion: pending ? versionOf(pending) : null,
      lastCheck: row.lastCheckedAt ? { at: row.lastCheckedAt, ok: row.lastCheckOk ?? false, error: row.lastCheckError, latencyMs: row.lastCheckLatencyMs } : null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  });
}

export async function presentServer(row: ServerRow): Promise<RegisteredServer> {
  return (await presentServers([row]))[0]!;
}
