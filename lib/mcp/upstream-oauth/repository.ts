import { db } from '@/lib/db/client';
import type { Prisma } from '@/lib/generated/prisma/client';

/**
 * Upstream OAuth's repository: every query of mcp_upstream_clients, mcp_upstream_authorizations
 * and mcp_upstream_grants goes through here. Secrets arrive sealed and leave sealed.
 */

export type Tx = Prisma.TransactionClient;

export interface ClientRow {
  serverId: string;
  issuer: string;
  resource: string;
  metadata: Prisma.JsonValue;
  clientId: string;
  sealedClientSecret: string | null;
  dynamic: boolean;
  redirectUri: string;
}

export interface GrantRow {
  serverId: string;
  userId: string;
  tenantId: string;
  clientId: string;
  sealedTokens: string;
  scope: string;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export function clientOf(serverId: string): Promise<ClientRow | null> {
  return db().mcpUpstreamClient.findUnique({ where: { serverId } });
}

export async function saveClient(client: ClientRow): Promise<void> {
  const { serverId, ...fields } = client;
  const data = { ...fields, metadata: fields.metadata as Prisma.InputJsonValue };
  await db().mcpUpstreamClient.upsert({ where: { serverId }, create: { serverId, ...data }, update: { ...data, updatedAt: new Date() } });
}

export async function insertAuthorization(row: { stateHash: string; tenantId: string; serverId: string; userId: string; clientId: string; sealedVerifier: string; expiresAt: Date }): Promise<void> {
  await db().mcpUpstreamAuthorization.create({ data: row });
}

/** Takes a pending authorization out (deleted whatever follows, so a state is used once); null when unknown. */
export async function consumeAuthorization(stateHash: string) {
  const rows = await db().mcpUpstreamAuthorization.findMany({ where: { stateHash } });
  if (rows.length === 0) return null;
  const { count } = await db().mcpUpstreamAuthorization.deleteMany({ where: { stateHash } });
  // Two callbacks with the same state at once: only the one whose delete removed the row goes on.
  return count === 1 ? rows[0]! : null;
}

/** Authorizations nobody came back from (abandoned consent pages). */
export async function pruneAuthorizations(now: Date): Promise<void> {
  await db().mcpUpstreamAuthorization.deleteMany({ where: { expiresAt: { lt: now } } });
}

export function grantOf(serverId: string, userId: string): Promise<GrantRow | null> {
  return db().mcpUpstreamGrant.findUnique({ where: { serverId_userId: { serverId, userId } } });
}

export function grantsOfUser(tenantId: string, userId: string): Promise<GrantRow[]> {
  return db().mcpUpstreamGrant.findMany({ where: { tenantId, userId } });
}

export async function saveGrant(row: Omit<GrantRow, 'createdAt' | 'updatedAt'>): Promise<void> {
  const { serverId, userId, ...fields } = row;
  await db().mcpUpstreamGrant.upsert({
    where: { serverId_userId: { serverId, userId } },
    create: { serverId, userId, ...fields },
    // A new connection starts a new grant: created_at says when the person connected.
    update: { ...fields, createdAt: new Date(), updatedAt: new Date() },
  });
}

/** Deletes a grant; the row as it was (to revoke its tokens upstream), or null when there was none. */
export async function deleteGrant(serverId: string, userId: string): Promise<GrantRow | null> {
  const rows = await db().$queryRaw<{ sealed_tokens: string; client_id: string; tenant_id: string; scope: string; expires_at: Date | null; created_at: Date; updated_at: Date }[]>`
    DELETE FROM mcp_upstream_grants WHERE server_id = ${serverId}::uuid AND user_id = ${userId}::uuid
    RETURNING sealed_tokens, client_id, tenant_id::text, scope, expires_at, created_at, updated_at`;
  const row = rows[0];
  if (!row) return null;
  return { serverId, userId, tenantId: row.tenant_id, clientId: row.client_id, sealedTokens: row.sealed_tokens, scope: row.scope, expiresAt: row.expires_at, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** Every grant of a server, deleted inside the revocation's transaction. */
export async function deleteServerGrants(tx: Tx, serverId: string): Promise<number> {
  const { count } = await tx.mcpUpstreamGrant.deleteMany({ where: { serverId } });
  return count;
}

/**
 * Runs `work` holding the grant's row lock (SELECT … FOR UPDATE), with the row as it is once the
 * lock is held (null when it is gone). A refresh runs inside: a second refresher waits, then sees
 * the tokens the first stored instead of spending the same refresh token again.
 */
export function withLockedGrant<T>(serverId: string, userId: string, timeoutMs: number, work: (row: GrantRow | null, tx: Tx) => Promise<T>): Promise<T> {
  return db().$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM mcp_upstream_grants WHERE server_id = ${serverId}::uuid AND user_id = ${userId}::uuid FOR UPDATE`;
      const row = await tx.mcpUpstreamGrant.findUnique({ where: { serverId_userId: { serverId, userId } } });
      return work(row, tx);
    },
    { timeout: timeoutMs, maxWait: timeoutMs },
  );
}

export async function updateGrantTokens(tx: Tx, serverId: string, userId: string, fields: { sealedTokens: string; scope: string; expiresAt: Date | null }): Promise<void> {
  await tx.mcpUpstreamGrant.update({ where: { serverId_userId: { serverId, userId } }, data: { ...fields, updatedAt: new Date() } });
}

export async function deleteGrantIn(tx: Tx, serverId: string, userId: string): Promise<void> {
  await tx.mcpUpstreamGrant.deleteMany({ where: { serverId, userId } });
}
