// Test support (imported by tests only): registry rows for allowlist tests, written the way the
// registry's register / scope / revoke actions leave them (one transaction, sequence bumped).
// Replaced by lib/mcp/registry's own actions once they land.
import { createHash } from 'node:crypto';
import { db } from '@/lib/db/client';
import type { Prisma } from '@/lib/generated/prisma/client';
import type { ScopeKind } from '../documents';

export interface ServerFixture {
  id: string;
  tenantId: string;
  name: string;
}

type Scope = { kind: ScopeKind; subject: string };

async function bump(tx: Prisma.TransactionClient, tenantId: string): Promise<void> {
  await tx.mcpAllowlistState.upsert({ where: { tenantId }, create: { tenantId, sequence: 1n }, update: { sequence: { increment: 1n }, updatedAt: new Date() } });
}

function toolList(names: readonly string[]) {
  return names.map((name) => {
    const definition = { name, description: `${name} tool`, inputSchema: { type: 'object', properties: {} } };
    return { ...definition, schemaHash: createHash('sha256').update(JSON.stringify(definition)).digest('hex') };
  });
}

/** A server registered and its first tool list approved. */
export async function registerServer(input: { tenantId: string; ownerId: string; name: string; url?: string; command?: string; args?: string[]; env?: Record<string, string>; scopes: Scope[]; tools: string[] }): Promise<ServerFixture> {
  return db().$transaction(async (tx) => {
    const tools = toolList(input.tools);
    const server = await tx.mcpServer.create({
      data: {
        tenantId: input.tenantId,
        name: input.name,
        description: `${input.name} for tests`,
        ownerId: input.ownerId,
        transport: input.command ? 'stdio' : 'streamable_http',
        url: input.url ?? null,
        command: input.command ?? null,
        args: input.args ?? [],
        env: input.env ?? {},
      },
    });
    const version = await tx.mcpServerVersion.create({
      data: { serverId: server.id, version: 1, tools, toolsDigest: createHash('sha256').update(JSON.stringify(tools)).digest('hex'), source: 'registration', status: 'approved', reviewedBy: input.ownerId, reviewedAt: new Date() },
    });
    await tx.mcpServer.update({ where: { id: server.id }, data: { approvedVersionId: version.id } });
    await tx.mcpServerScope.createMany({ data: input.scopes.map((scope) => ({ serverId: server.id, kind: scope.kind, subject: scope.subject })) });
    await bump(tx, input.tenantId);
    return { id: server.id, tenantId: input.tenantId, name: input.name };
  });
}

export async function setScopes(server: ServerFixture, scopes: Scope[]): Promise<void> {
  await db().$transaction(async (tx) => {
    await tx.mcpServerScope.deleteMany({ where: { serverId: server.id } });
    await tx.mcpServerScope.createMany({ data: scopes.map((scope) => ({ serverId: server.id, kind: scope.kind, subject: scope.subject })) });
    await bump(tx, server.tenantId);
  });
}

export async function revokeServer(server: ServerFixture, reason: string): Promise<void> {
  await db().$transaction(async (tx) => {
    await tx.mcpServer.update({ where: { id: server.id }, data: { status: 'revoked', revokedReason: reason, revokedAt: new Date() } });
    await bump(tx, server.tenantId);
  });
}
