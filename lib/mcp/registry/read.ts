import { audienceFilter, type Audience } from '@/lib/rbac/audience';
import { presentServer, presentServers, versionOf } from './present';
import * as repository from './repository';
import type { RecordedTool, RegisteredServer, ServerVersion } from './types';

/** Reads of the registry: no permission check here (callers decide who may see what). */

/** A server by name (active or revoked), or null. */
export async function getServerByName(tenantId: string, name: string): Promise<RegisteredServer | null> {
  const row = await repository.serverRowByName(tenantId, name);
  return row ? presentServer(row) : null;
}

/** A server by id within the tenant (active or revoked), or null. */
export async function getServerById(tenantId: string, id: string): Promise<RegisteredServer | null> {
  const row = await repository.serverRowById(tenantId, id);
  return row ? presentServer(row) : null;
}

/** Every server of the tenant, revoked ones included, by name. */
export async function listServers(tenantId: string): Promise<RegisteredServer[]> {
  return presentServers(await repository.serverRows(tenantId));
}

/** Every tool list a server has had, newest first (approved, pending, rejected, superseded). */
export async function serverVersions(server: Pick<RegisteredServer, 'id'>): Promise<ServerVersion[]> {
  return (await repository.versionRows(server.id)).map(versionOf);
}

/**
 * The active servers whose scope includes the principal (everyone, one of its roles, its
 * department, or the user) and that have an approved tool list: what its allowlist holds and the
 * proxy admits. Build the principal with audienceOf() (lib/rbac/audience) from the database, or
 * from a token's user id, role labels and department id.
 */
export async function serversInScopeFor(principal: Audience): Promise<RegisteredServer[]> {
  return presentServers(await repository.activeServerRowsFor(principal.tenantId, audienceFilter(principal)));
}

/** The tools clients and the proxy may use: the approved version's (empty until one is approved). */
export function approvedTools(server: Pick<RegisteredServer, 'approvedVersion'>): RecordedTool[] {
  return server.approvedVersion?.tools ?? [];
}

/** The tenant's allowlist sequence: bumped by every registry change. */
export function allowlistSequence(tenantId: string): Promise<bigint> {
  return repository.currentAllowlistSequence(tenantId);
}

/**
 * The allowlist sequence and the audience sequence, which the database moves whenever a user's
 * department, status or role bindings, or a role's name, change (so an audience read at one
 * audience sequence is still the database's while it stands).
 */
export function accessSequences(tenantId: string): Promise<{ allowlist: bigint; audience: bigint }> {
  return repository.currentSequences(tenantId);
}
