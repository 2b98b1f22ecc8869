import { db } from '@/lib/db/client';
import type { McpPrincipalKind, McpServerVersionStatus, McpTransport, McpUpstreamAuth, Prisma } from '@/lib/generated/prisma/client';
import type { RecordedTool } from './types';

/**
 * The MCP registry's repository: every query of mcp_servers, mcp_server_versions,
 * mcp_server_scopes and mcp_allowlist_state goes through here. Writes take the transaction they
 * belong to, so a change and its allowlist sequence bump commit together.
 */

export type Tx = Prisma.TransactionClient;

/** A server row with its scope entries and the versions a listing shows (approved and pending). */
const WITH_SCOPE_AND_VERSIONS = {
  scopes: { orderBy: [{ kind: 'asc' }, { subject: 'asc' }] },
  versions: { where: { status: { in: ['approved', 'pending'] } }, orderBy: { version: 'desc' } },
} satisfies Prisma.McpServerInclude;

export type ServerRow = Prisma.McpServerGetPayload<{ include: typeof WITH_SCOPE_AND_VERSIONS }>;
export type VersionRow = ServerRow['versions'][number];

export function inTransaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
  return db().$transaction(work);
}

/** Bumps the tenant's allowlist sequence inside the change's transaction and returns it. */
export async function bumpAllowlistSequence(tx: Tx, tenantId: string): Promise<bigint> {
  const row = await tx.mcpAllowlistState.upsert({
    where: { tenantId },
    create: { tenantId, sequence: 1n },
    update: { sequence: { increment: 1n }, updatedAt: new Date() },
  });
  return row.sequence;
}

export async function currentAllowlistSequence(tenantId: string): Promise<bigint> {
  const row = await db().mcpAllowlistState.findUnique({ where: { tenantId }, select: { sequence: true } });
  return row?.sequence ?? 0n;
}

/** Both of the tenant's sequences in one read: registry changes, and people's audience changes (moved by triggers). */
export async function currentSequences(tenantId: string): Promise<{ allowlist: bigint; audience: bigint }> {
  const row = await db().mcpAllowlistState.findUnique({ where: { tenantId }, select: { sequence: true, audienceSequence: true } });
  return { allowlist: row?.sequence ?? 0n, audience: row?.audienceSequence ?? 0n };
}

export function serverRowByName(tenantId: string, name: string): Promise<ServerRow | null> {
  return db().mcpServer.findUnique({ where: { tenantId_name: { tenantId, name } }, include: WITH_SCOPE_AND_VERSIONS });
}

export function serverRowById(tenantId: string, id: string): Promise<ServerRow | null> {
  return db().mcpServer.findFirst({ where: { id, tenantId }, include: WITH_SCOPE_AND_VERSIONS });
}

export function serverRows(tenantId: string): Promise<ServerRow[]> {
  return db().mcpServer.findMany({ where: { tenantId }, include: WITH_SCOPE_AND_VERSIONS, orderBy: { name: 'asc' } });
}

/** Active servers with a scope entry matching `audience` (an audienceFilter() fragment) and an approved version. */
export function activeServerRowsFor(tenantId: string, audience: Prisma.McpServerScopeWhereInput[]): Promise<ServerRow[]> {
  return db().mcpServer.findMany({
    where: { tenantId, status: 'active', approvedVersionId: { not: null }, scopes: { some: { OR: audience } } },
    include: WITH_SCOPE_AND_VERSIONS,
    orderBy: { name: 'asc' },
  });
}

/** Every version of a server, newest first (the review history). */
export function versionRows(serverId: string) {
  return db().mcpServerVersion.findMany({ where: { serverId }, orderBy: { version: 'desc' } });
}

/** The sealed static secret of a server; read by upstreamTarget() only. */
export async function sealedSecretOf(serverId: string): Promise<string | null> {
  const row = await db().mcpServer.findUnique({ where: { id: serverId }, select: { sealedSecret: true } });
  return row?.sealedSecret ?? null;
}

/** The stored OAuth client config of an oauth_user server (its client secret sealed inside). */
export async function oauthConfigOf(serverId: string): Promise<Prisma.JsonValue | null> {
  const row = await db().mcpServer.findUnique({ where: { id: serverId }, select: { oauthConfig: true } });
  return row?.oauthConfig ?? null;
}

export async function userEmails(ids: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const users = await db().user.findMany({ where: { id: { in: unique } }, select: { id: true, email: true } });
  return new Map(users.map((user) => [user.id, user.email]));
}

/** Each of these users that still exists, with whether they are active (a scope shows the others as removed). */
export async function userStatuses(ids: readonly string[]): Promise<Map<string, 'active' | 'disabled'>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const users = await db().user.findMany({ where: { id: { in: unique } }, select: { id: true, status: true } });
  return new Map(users.map((user) => [user.id, user.status]));
}

/** Which of these role names the tenant still has (a deleted role's scope entry names nothing). */
export async function existingRoleNames(tenantId: string, names: readonly string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const roles = await db().role.findMany({ where: { tenantId, name: { in: [...new Set(names)] } }, select: { name: true } });
  return new Set(roles.map((role) => role.name));
}

/** Which of these users are active (a disabled one may not be put in a server's scope). */
export async function activeUserIds(ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const users = await db().user.findMany({ where: { id: { in: [...new Set(ids)] }, status: 'active' }, select: { id: true } });
  return new Set(users.map((user) => user.id));
}

/** Locks the server's row if it is still active: false when a revoke committed first. */
export async function lockActiveServer(tx: Tx, serverId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM mcp_servers WHERE id = ${serverId}::uuid AND status = 'active' FOR UPDATE`;
  return rows.length === 1;
}

export interface NewServer {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  ownerId: string;
  transport: McpTransport;
  url: string | null;
  command: string | null;
  args: string[];
  env: Record<string, string>;
  upstreamAuth: McpUpstreamAuth;
  secretHeader: string | null;
  sealedSecret: string | null;
  oauthConfig: Prisma.InputJsonValue | null;
  allowPrivateNetwork: boolean;
}

export async function nameTaken(tx: Tx, tenantId: string, name: string): Promise<boolean> {
  return (await tx.mcpServer.count({ where: { tenantId, name } })) > 0;
}

export async function insertServer(tx: Tx, server: NewServer): Promise<void> {
  await tx.mcpServer.create({
    data: {
      ...server,
      oauthConfig: server.oauthConfig ?? undefined,
    },
  });
}

/** Locks the server's row for the rest of the transaction: version numbers and reviews never race. */
export async function lockServer(tx: Tx, serverId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM mcp_servers WHERE id = ${serverId}::uuid FOR UPDATE`;
}

export async function replaceScopes(tx: Tx, serverId: string, entries: readonly { kind: McpPrincipalKind; subject: string }[], createdBy: string): Promise<void> {
  await tx.mcpServerScope.deleteMany({ where: { serverId } });
  if (entries.length) await tx.mcpServerScope.createMany({ data: entries.map((entry) => ({ serverId, kind: entry.kind, subject: entry.subject, createdBy })), skipDuplicates: true });
}

export async function updateServerFields(tx: Tx, serverId: string, fields: { description?: string }): Promise<void> {
  await tx.mcpServer.update({ where: { id: serverId }, data: { ...fields, updatedAt: new Date() } });
}

/** Adds a version numbered after the server's last one (call with the server locked). */
export async function insertVersion(
  tx: Tx,
  input: { serverId: string; tools: RecordedTool[]; toolsDigest: string; source: 'registration' | 'check' | 'edit'; status: McpServerVersionStatus; reviewedBy?: string; comment?: string },
): Promise<VersionRow> {
  const last = await tx.mcpServerVersion.findFirst({ where: { serverId: input.serverId }, orderBy: { version: 'desc' }, select: { version: true } });
  const reviewed = input.status !== 'pending';
  return tx.mcpServerVersion.create({
    data: {
      serverId: input.serverId,
      version: (last?.version ?? 0) + 1,
      tools: input.tools as unknown as Prisma.InputJsonValue,
      toolsDigest: input.toolsDigest,
      source: input.source,
      status: input.status,
      ...(reviewed ? { reviewedBy: input.reviewedBy ?? null, reviewedAt: new Date(), reviewComment: input.comment ?? null } : {}),
    },
  });
}

export function versionByNumber(tx: Tx, serverId: string, version: number) {
  return tx.mcpServerVersion.findUnique({ where: { serverId_version: { serverId, version } } });
}

export function newestPendingVersion(tx: Tx, serverId: string) {
  return tx.mcpServerVersion.findFirst({ where: { serverId, status: 'pending' }, orderBy: { version: 'desc' } });
}

export function approvedVersionOf(tx: Tx, serverId: string) {
  return tx.mcpServerVersion.findFirst({ where: { serverId, status: 'approved' } });
}

/** Moves versions in `from` status to `to` (superseding a replaced approval, clearing stale pending ones). */
export async function setVersionsStatus(tx: Tx, serverId: string, from: McpServerVersionStatus, to: McpServerVersionStatus, reviewer: string | null, except?: string): Promise<number> {
  const result = await tx.mcpServerVersion.updateMany({
    where: { serverId, status: from, ...(except ? { id: { not: except } } : {}) },
    data: { status: to, ...(reviewer ? { reviewedBy: reviewer, reviewedAt: new Date() } : {}) },
  });
  return result.count;
}

/** Decides a pending version; false when it was no longer pending. */
export async function reviewVersion(tx: Tx, versionId: string, status: 'approved' | 'rejected', reviewer: string, comment: string): Promise<boolean> {
  const result = await tx.mcpServerVersion.updateMany({
    where: { id: versionId, status: 'pending' },
    data: { status, reviewedBy: reviewer, reviewedAt: new Date(), reviewComment: comment || null },
  });
  return result.count === 1;
}

export async function setApprovedVersion(tx: Tx, serverId: string, versionId: string): Promise<void> {
  await tx.mcpServer.update({ where: { id: serverId }, data: { approvedVersionId: versionId, updatedAt: new Date() } });
}

export async function recordCheckResult(tx: Tx, serverId: string, result: { ok: boolean; error: string | null; latencyMs: number }): Promise<void> {
  await tx.mcpServer.update({
    where: { id: serverId },
    data: { lastCheckedAt: new Date(), lastCheckOk: result.ok, lastCheckError: result.error, lastCheckLatencyMs: result.latencyMs },
  });
}

export async function markRevoked(tx: Tx, serverId: string, reason: string, by: string): Promise<boolean> {
  const result = await tx.mcpServer.updateMany({
    where: { id: serverId, status: 'active' },
    data: { status: 'revoked', revokedReason: reason, revokedAt: new Date(), revokedBy: by, updatedAt: new Date() },
  });
  return result.count === 1;
}
