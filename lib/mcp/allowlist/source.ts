import { db } from '@/lib/db/client';
import type { Prisma } from '@/lib/generated/prisma/client';
import type { Principal } from '@/lib/tokens';
import type { RevokedServer, ScopeKind, ToolPolicyMap } from './documents';

/**
 * What the allowlist reads from the MCP registry (lib/mcp/registry) and the tool policy engine
 * (lib/tool-policy). They are built beside this module; until their exports land this is the one
 * thin adapter over the registry's tables, and it is replaced by their functions, not grown.
 */

export interface ApprovedTool {
  name: string;
  schemaHash: string;
}

/** A live server at its approved version: what a manifest is made from. */
export interface ApprovedServer {
  id: string;
  name: string;
  description: string;
  transport: 'streamable_http' | 'sse' | 'stdio';
  url: string | null;
  command: string | null;
  args: string[];
  env: Record<string, string>;
  scopes: { kind: ScopeKind; subject: string }[];
  version: { id: string; version: number; toolsDigest: string; tools: ApprovedTool[] };
}

export interface TenantRegistry {
  approved: ApprovedServer[];
  revoked: RevokedServer[];
  /** Upstream URLs of every registered remote server, live or revoked (clients must reach them only through the proxy). */
  upstreamUrls: string[];
}

/** Who the allowlist is for, as scopes name people: department by id, roles by name. */
export interface ScopeSubject {
  userId: string;
  departmentId: string | null;
  roles: string[];
}

/** A client to read with: the pool, or a transaction (to read the sequence and the registry as one snapshot). */
export type RegistryReader = Pick<Prisma.TransactionClient, 'mcpServer' | 'mcpAllowlistState'>;

/** The tenant's allowlist sequence: bumped by the registry and policy with every change. */
export async function allowlistSequence(tenantId: string, reader: RegistryReader = db()): Promise<number> {
  const row = await reader.mcpAllowlistState.findUnique({ where: { tenantId } });
  return Number(row?.sequence ?? 0n);
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

function toolsOf(serverName: string, value: unknown): ApprovedTool[] | null {
  if (!Array.isArray(value)) return null;
  const tools: ApprovedTool[] = [];
  for (const tool of value as { name?: unknown; schemaHash?: unknown }[]) {
    if (typeof tool?.name !== 'string' || typeof tool.schemaHash !== 'string') {
      console.error(`mcp allowlist: server ${serverName}'s approved tool list has a tool without a name or schema hash; the server is left out until it is re-checked`);
      return null;
    }
    tools.push({ name: tool.name, schemaHash: tool.schemaHash });
  }
  return tools;
}

/** Every server of the tenant the allowlist speaks about: approved and live, or revoked. */
export async function tenantRegistry(tenantId: string, reader: RegistryReader = db()): Promise<TenantRegistry> {
  const servers = await reader.mcpServer.findMany({
    where: { tenantId },
    include: { scopes: { select: { kind: true, subject: true } }, versions: { where: { status: { in: ['approved', 'superseded'] } }, select: { id: true, version: true, status: true, tools: true, toolsDigest: true } } },
    orderBy: { name: 'asc' },
  });
  const approved: ApprovedServer[] = [];
  const revoked: RevokedServer[] = [];
  const upstreamUrls: string[] = [];
  for (const server of servers) {
    if (server.url) upstreamUrls.push(server.url);
    if (server.status === 'revoked') {
      revoked.push({ id: server.id, name: server.name, versions: 'all', ...(server.revokedReason ? { reason: server.revokedReason } : {}) });
      continue;
    }
    const superseded = server.versions.filter((version) => version.status === 'superseded').map((version) => version.version);
    if (superseded.length) revoked.push({ id: server.id, name: server.name, versions: superseded.sort((a, b) => a - b), reason: 'superseded by a newer approved tool list' });
    const current = server.versions.find((version) => version.id === server.approvedVersionId && version.status === 'approved');
    const tools = current ? toolsOf(server.name, current.tools) : null;
    if (!current || !tools) continue;
    approved.push({
      id: server.id,
      name: server.name,
      description: server.description,
      transport: server.transport,
      url: server.url,
      command: server.command,
      args: stringArray(server.args),
      env: stringRecord(server.env),
      scopes: server.scopes.map((scope) => ({ kind: scope.kind, subject: scope.subject })),
      version: { id: current.id, version: current.version, toolsDigest: current.toolsDigest, tools },
    });
  }
  return { approved, revoked, upstreamUrls };
}

/** The person as scopes name them, or null when they are not an active user of the tenant. */
export async function scopeSubjectOf(principal: Pick<Principal, 'userId' | 'tenantId'>): Promise<ScopeSubject | null> {
  const user = await db().user.findFirst({
    where: { id: principal.userId, tenantId: principal.tenantId, status: 'active' },
    select: { departmentId: true, roleBindings: { select: { role: { select: { name: true } } } } },
  });
  if (!user) return null;
  return { userId: principal.userId, departmentId: user.departmentId, roles: [...new Set(user.roleBindings.map((binding) => binding.role.name))].sort() };
}

/** Whether a server scoped by `scopes` is offered to `subject` (no scope at all = nobody). */
export function inScope(scopes: readonly { kind: ScopeKind; subject: string }[], subject: ScopeSubject): boolean {
  return scopes.some(
    (scope) =>
      scope.kind === 'everyone' ||
      (scope.kind === 'role' && subject.roles.includes(scope.subject)) ||
      (scope.kind === 'department' && scope.subject === subject.departmentId) ||
      (scope.kind === 'user' && scope.subject === subject.userId),
  );
}

/**
 * The person's tool policy for a server in Desktop's toolPolicy shape; `null` asks for the
 * organisation-wide baseline (rules for everyone), what a profile shared by every device can
 * carry. Empty until the policy engine's effectiveToolPolicy lands: the proxy enforces every call
 * either way; this only lets Desktop apply the same decisions before a call is made.
 */
export async function toolPolicyFor(principal: Principal | null, server: ApprovedServer): Promise<ToolPolicyMap> {
  void principal;
  void server;
  return {};
}
