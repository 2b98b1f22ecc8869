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
  issuer: string;
  resource: string;
  sealedTokens: string;
  scope: string;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Gatehouse's client at `issuer` for the server, or null. */
export function clientOf(serverId: string, issuer: string): Promise<ClientRow | null> {
  return db().mcpUpstreamClient.findUnique({ where: { serverId_issuer: { serverId, issuer } } });
}

export async function saveClient(client: ClientRow): Promise<void> {
  const { serverId, issuer, ...fields } = client;
  const data = { ...fields, metadata: fields.metadata as Prisma.InputJsonValue };
  await db().mcpUpstreamClient.upsert({ where: { serverId_issuer: { serverId, issuer } }, create: { serverId, issuer, ...data }, update: { ...data, updatedAt: new Date() } });
}

/** The issuer pinned for the server, or null before its first connection. */
export async function pinnedIssuer(serverId: string): Promise<string | null> {
  return (await db().mcpUpstreamPin.findUnique({ where: { serverId } }))?.issuer ?? null;
}

/** Pins `issuer` unless one is pinned already; the pinned issuer either way (two first connections agree on one). */
export async function pinIssuer(serverId: string, issuer: string): Promise<string> {
  const rows = await db().$queryRaw<{ issuer: string }[]>`
    WITH inserted AS (INSERT INTO mcp_upstream_pins (server_id, issuer) VALUES (${serverId}::uuid, ${issuer}) ON CONFLICT (server_id) DO NOTHING RETURNING issuer)
    SELECT issuer FROM inserted UNION ALL SELECT issuer FROM mcp_upstream_pins WHERE server_id = ${serverId}::uuid`;
  return rows[0]!.issuer;
}

/**
 * Grants an administrator deleted, with what revoking their tokens at the provider needs once
 * the rows are gone: the issuer pinned then and Gatehouse's clients there.
 */
export interface DeletedGrants {
  pinned: string | null;
  clients: ClientRow[];
  grants: GrantRow[];
}

/**
 * An administrator's reset of the server's pinned authorization server: the pin, every client
 * row, pending authorization and grant of the server go in one transaction (grants from the old
 * issuer are no use at the new one). Returns what was deleted, for revoking it upstream.
 */
export async function resetIssuer(serverId: string): Promise<DeletedGrants> {
  return db().$transaction(async (tx) => {
    // The server row first: a grant being saved or refreshed (holdActiveServer) commits before
    // this goes on and is deleted below with the others; one saved later finds no pin.
    await tx.$queryRaw`SELECT 1 FROM mcp_servers WHERE id = ${serverId}::uuid FOR UPDATE`;
    const deleted = await deleteServerGrants(tx, serverId);
    await tx.mcpUpstreamPin.deleteMany({ where: { serverId } });
    await tx.mcpUpstreamClient.deleteMany({ where: { serverId } });
    await tx.mcpUpstreamAuthorization.deleteMany({ where: { serverId } });
    return deleted;
  });
}

export type AuthorizationRow = { stateHash: string; tenantId: string; serverId: string; userId: string; clientId: string; issuer: string; resource: string; sealedVerifier: string; expiresAt: Date };

export async function insertAuthorization(row: AuthorizationRow): Promise<void> {
  await db().mcpUpstreamAuthorization.create({ data: row });
}

/** How many authorizations the person has pending and how many they started since `since` (connect's limits). */
export async function pendingCounts(tenantId: string, userId: string, since: Date): Promise<{ pending: number; recent: number }> {
  const [row] = await db().$queryRaw<{ pending: number; recent: number }[]>`
    SELECT count(*)::int AS pending, count(*) FILTER (WHERE created_at >= ${since})::int AS recent
    FROM mcp_upstream_authorizations WHERE tenant_id = ${tenantId}::uuid AND user_id = ${userId}::uuid`;
  return row ?? { pending: 0, recent: 0 };
}

/** Takes a pending authorization out in one statement (so a state is used once, whatever follows); null when unknown. */
export async function consumeAuthorization(stateHash: string): Promise<AuthorizationRow | null> {
  const rows = await db().$queryRaw<{ tenant_id: string; server_id: string; user_id: string; client_id: string; issuer: string; resource: string; sealed_verifier: string; expires_at: Date }[]>`
    DELETE FROM mcp_upstream_authorizations WHERE state_hash = ${stateHash}
    RETURNING tenant_id::text, server_id::text, user_id::text, client_id, issuer, resource, sealed_verifier, expires_at`;
  const row = rows[0];
  if (!row) return null;
  return { stateHash, tenantId: row.tenant_id, serverId: row.server_id, userId: row.user_id, clientId: row.client_id, issuer: row.issuer, resource: row.resource, sealedVerifier: row.sealed_verifier, expiresAt: row.expires_at };
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

/**
 * Whether the server is active, holding its row (FOR SHARE) until the caller's transaction ends:
 * a revocation or reset (which take the row first) that committed before is seen, one that
 * comes later waits and then deletes what this transaction wrote. The statements after this one
 * read with a fresh snapshot (READ COMMITTED), so they also see the pin as it is now.
 */
async function holdActiveServer(tx: Tx, serverId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ status: string }[]>`SELECT status::text AS status FROM mcp_servers WHERE id = ${serverId}::uuid FOR SHARE`;
  return rows[0]?.status === 'active';
}

/**
 * Stores a new connection's grant, only while the server is active and `issuer` is still its
 * pinned authorization server (false: nothing stored). A new connection starts a new grant:
 * created_at says when the person connected.
 */
export async function saveGrant(row: Omit<GrantRow, 'createdAt' | 'updatedAt'>): Promise<boolean> {
  return db().$transaction(async (tx) => {
    if (!(await holdActiveServer(tx, row.serverId))) return false;
    const saved = await tx.$executeRaw`
      INSERT INTO mcp_upstream_grants (server_id, user_id, tenant_id, client_id, issuer, resource, sealed_tokens, scope, expires_at, refresh_lease_until, created_at, updated_at)
      SELECT ${row.serverId}::uuid, ${row.userId}::uuid, ${row.tenantId}::uuid, ${row.clientId}, ${row.issuer}, ${row.resource}, ${row.sealedTokens}, ${row.scope}, ${row.expiresAt}, NULL, now(), now()
      WHERE EXISTS (SELECT 1 FROM mcp_upstream_pins WHERE server_id = ${row.serverId}::uuid AND issuer = ${row.issuer})
      ON CONFLICT (server_id, user_id) DO UPDATE SET
        tenant_id = EXCLUDED.tenant_id, client_id = EXCLUDED.client_id, issuer = EXCLUDED.issuer, resource = EXCLUDED.resource,
        sealed_tokens = EXCLUDED.sealed_tokens, scope = EXCLUDED.scope, expires_at = EXCLUDED.expires_at,
        refresh_lease_until = NULL, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at`;
    return saved === 1;
  });
}

type DeletedGrantColumns = { user_id: string; sealed_tokens: string; client_id: string; issuer: string; resource: string; tenant_id: string; scope: string; expires_at: Date | null; created_at: Date; updated_at: Date };

function deletedGrant(serverId: string, row: DeletedGrantColumns): GrantRow {
  return { serverId, userId: row.user_id, tenantId: row.tenant_id, clientId: row.client_id, issuer: row.issuer, resource: row.resource, sealedTokens: row.sealed_tokens, scope: row.scope, expiresAt: row.expires_at, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** Deletes a grant; the row as it was (to revoke its tokens upstream), or null when there was none. */
export async function deleteGrant(serverId: string, userId: string): Promise<GrantRow | null> {
  const rows = await db().$queryRaw<DeletedGrantColumns[]>`
    DELETE FROM mcp_upstream_grants WHERE server_id = ${serverId}::uuid AND user_id = ${userId}::uuid
    RETURNING user_id::text, sealed_tokens, client_id, issuer, resource, tenant_id::text, scope, expires_at, created_at, updated_at`;
  return rows[0] ? deletedGrant(serverId, rows[0]) : null;
}

/**
 * Every grant of a server, deleted inside the caller's transaction (a server's revocation, a
 * reset), returned as they were with the pin and clients, so their tokens can be revoked upstream.
 * One DELETE … RETURNING: a grant saved meanwhile is either returned here or kept.
 */
export async function deleteServerGrants(tx: Tx, serverId: string): Promise<DeletedGrants> {
  const rows = await tx.$queryRaw<DeletedGrantColumns[]>`
    DELETE FROM mcp_upstream_grants WHERE server_id = ${serverId}::uuid
    RETURNING user_id::text, sealed_tokens, client_id, issuer, resource, tenant_id::text, scope, expires_at, created_at, updated_at`;
  const pin = await tx.mcpUpstreamPin.findUnique({ where: { serverId } });
  const clients = rows.length ? await tx.mcpUpstreamClient.findMany({ where: { serverId } }) : [];
  return { pinned: pin?.issuer ?? null, clients, grants: rows.map((row) => deletedGrant(serverId, row)) };
}

/**
 * Takes the grant's refresh lease for `leaseMs` when nobody holds one (or theirs has run out):
 * one short UPDATE, no transaction left open while the token endpoint answers. Returns the row
 * and whether this caller holds the lease (else someone else does), or null when the grant is gone.
 */
export async function leaseGrant(serverId: string, userId: string, leaseMs: number): Promise<{ row: GrantRow; held: boolean } | null> {
  const until = new Date(Date.now() + leaseMs);
  const { count } = await db().mcpUpstreamGrant.updateMany({
    where: { serverId, userId, OR: [{ refreshLeaseUntil: null }, { refreshLeaseUntil: { lt: new Date() } }] },
    data: { refreshLeaseUntil: until },
  });
  const row = await grantOf(serverId, userId);
  if (!row) return null;
  return { row, held: count === 1 };
}

/**
 * Why refreshed tokens were not stored: inactive, the server is no longer active; unpinned, the
 * grant's issuer is no longer its pinned one; replaced, the grant was written since it was leased
 * (a reconnect, or another process's refresh after the lease ran out); deleted, it is gone (a
 * disconnect).
 */
export type RefreshNotStored = 'inactive' | 'unpinned' | 'replaced' | 'deleted';

/**
 * Stores refreshed tokens and gives the lease back, provided the grant is still the one leased
 * (not reconnected or deleted meanwhile), the server still active and the grant's issuer still
 * its pinned one (as saveGrant); otherwise says which of these failed.
 */
export async function storeRefreshed(serverId: string, userId: string, leased: { updatedAt: Date; issuer: string }, fields: { sealedTokens: string; scope: string; expiresAt: Date | null }): Promise<'stored' | RefreshNotStored> {
  return db().$transaction(async (tx) => {
    if (!(await holdActiveServer(tx, serverId))) return 'inactive';
    const stored = await tx.$executeRaw`
      UPDATE mcp_upstream_grants g SET sealed_tokens = ${fields.sealedTokens}, scope = ${fields.scope}, expires_at = ${fields.expiresAt}, refresh_lease_until = NULL, updated_at = now()
      WHERE g.server_id = ${serverId}::uuid AND g.user_id = ${userId}::uuid AND g.updated_at = ${leased.updatedAt}
        AND EXISTS (SELECT 1 FROM mcp_upstream_pins p WHERE p.server_id = g.server_id AND p.issuer = g.issuer)`;
    if (stored === 1) return 'stored';
    const [current] = await tx.$queryRaw<{ leased: boolean; issuer: string }[]>`
      SELECT g.updated_at = ${leased.updatedAt} AS leased, g.issuer FROM mcp_upstream_grants g WHERE g.server_id = ${serverId}::uuid AND g.user_id = ${userId}::uuid`;
    if (!current) return 'deleted';
    // A grant written since at another issuer (a reset, then a reconnect) shares nothing with the
    // tokens the leased issuer just gave: those are unpinned, not a replacement of the same grant.
    return current.leased || current.issuer !== leased.issuer ? 'unpinned' : 'replaced';
  });
}

export async function releaseLease(serverId: string, userId: string): Promise<void> {
  await db().mcpUpstreamGrant.updateMany({ where: { serverId, userId }, data: { refreshLeaseUntil: null } });
}

/** Deletes the grant a refresh failed for, unless it was replaced (reconnected) since it was leased. */
export async function deleteLeasedGrant(serverId: string, userId: string, leased: Date): Promise<void> {
  const { count } = await db().mcpUpstreamGrant.deleteMany({ where: { serverId, userId, updatedAt: leased } });
  if (count === 0) await releaseLease(serverId, userId);
}
