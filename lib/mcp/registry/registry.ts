import { randomUUID } from 'node:crypto';
import { Prisma } from '@/lib/generated/prisma/client';
import { OutboundFetchRefused } from '@/lib/platform/outbound/fetch-public';
import { checkUpstreamUrl } from '@/lib/platform/outbound/upstream-fetch';
import { resolveAudienceTarget } from '@/lib/rbac/audience';
import { UpstreamGrantRequired } from '@/lib/mcp/upstream-oauth/errors';
import { recordGrantEvent } from '@/lib/mcp/upstream-oauth/events';
import { deleteServerGrants, pinnedIssuer, resetIssuer, type DeletedGrants } from '@/lib/mcp/upstream-oauth/repository';
import { revokeDeletedGrants } from '@/lib/mcp/upstream-oauth/revocation';
import { grantedTarget } from '@/lib/mcp/upstream-oauth/session';
import { findUserWithRoles } from '@/lib/users/with-roles';
import { UserInputError } from '@/lib/users/tenant';
import { auditedUrl, recordRegistryChange, requireRegistryAdmin, type RegistryAction } from './events';
import { checkUpstream } from './health';
import { presentServer, type StoredOAuthConfig } from './present';
import * as repository from './repository';
import { sealOAuthClientSecret, sealUpstreamSecret } from './secrets';
import { recordTools, toolChanges, toolsDigest } from './tools';
import type { RecordedTool, RegisteredServer, RegistryActor } from './types';
import { targetFrom, upstreamTarget } from './upstream';
import { parseInput, registerServerSchema, updateServerSchema, type RegisterServerInput, type ScopeTarget, type UpdateServerInput, type ValidatedRegistration } from './validate';

/**
 * Every change to the MCP registry: register, rescope or describe, check, approve or reject a
 * tool list, revoke. Each checks `mcp.admin` here, commits with an allowlist sequence bump in the
 * same transaction, and records one `admin.change` event.
 */

type ResolvedScopeEntry = Awaited<ReturnType<typeof resolveAudienceTarget>>;

/**
 * The stored entries for what an administrator named. `shownUsers` are the emails the scope
 * editor showed as already in the scope: one of them deleted or deactivated since the page was
 * drawn is dropped (and named in `dropped`) rather than failing the whole save. Anyone else who
 * names nobody, or a deactivated person, is refused.
 */
async function resolveScope(tenantId: string, targets: readonly ScopeTarget[], shownUsers: ReadonlySet<string> = new Set()): Promise<{ entries: ResolvedScopeEntry[]; dropped: string[] }> {
  const entries: ResolvedScopeEntry[] = [];
  const dropped: string[] = [];
  for (const target of targets) {
    try {
      entries.push(await resolveAudienceTarget(tenantId, target));
    } catch (error) {
      const shown = target.kind === 'user' && shownUsers.has(target.value.trim().toLowerCase());
      if (!(error instanceof UserInputError) || target.kind !== 'user' || !shown) throw error;
      dropped.push(`user ${target.value.trim()} (removed)`);
    }
  }
  // A disabled person is refused, not silently given a server they would get back on re-enabling.
  const users = entries.filter((entry) => entry.kind === 'user');
  const active = await repository.activeUserIds(users.map((entry) => entry.subject));
  const disabled = users.filter((entry) => !active.has(entry.subject));
  const refused = disabled.find((entry) => !shownUsers.has(entry.label.slice('user '.length)));
  if (refused) throw new UserInputError(`${refused.label} is deactivated: only active people can be put in a server's scope`);
  dropped.push(...disabled.map((entry) => `${entry.label} (deactivated)`));
  return { entries: entries.filter((entry) => !disabled.includes(entry)), dropped };
}

async function activeServer(actor: RegistryActor, action: RegistryAction, name: string): Promise<repository.ServerRow> {
  const row = await repository.serverRowByName(actor.tenantId, name);
  if (!row) throw new UserInputError(`no MCP server named ${name}`);
  if (row.status !== 'active') {
    await recordRegistryChange(actor, action, row, { reason: 'revoked' }, 'denied');
    throw new UserInputError(`${name} is revoked`);
  }
  return row;
}

async function reload(tenantId: string, serverId: string): Promise<RegisteredServer> {
  const row = await repository.serverRowById(tenantId, serverId);
  if (!row) throw new Error(`MCP server ${serverId} vanished`);
  return presentServer(row);
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

async function ownerOf(actor: RegistryActor, email: string | undefined): Promise<string> {
  if (!email) return actor.userId;
  const user = await findUserWithRoles({ tenantId: actor.tenantId, email: email.trim().toLowerCase(), status: 'active' });
  if (!user) throw new UserInputError(`no active user with email ${email}`);
  return user.id;
}

/** The URL passes the SSRF rules now (it is checked again at every connection); refusals are recorded. */
async function requireAllowedUrl(actor: RegistryActor, action: RegistryAction, subject: { id?: string; name: string }, url: string, allowPrivateNetwork: boolean): Promise<void> {
  try {
    await checkUpstreamUrl(url, { allowPrivateNetwork });
  } catch (error) {
    if (!(error instanceof OutboundFetchRefused)) throw error;
    await recordRegistryChange(actor, action, subject, { url: auditedUrl(url), reason: error.message }, 'denied');
    throw new UserInputError(`the URL is refused: ${error.message}`);
  }
}

/**
 * Registers a server. Remote servers (streamable_http, sse): the URL must pass the SSRF rules,
 * then a health check lists the tools; when it succeeds, its tool list is version 1, approved by
 * the registering administrator. When it fails the server is still registered (the failure is
 * its last check) but has no approved version, so no client sees it until a check succeeds and
 * an administrator approves that tool list. Stdio servers run on devices and are never checked
 * from here: version 1 is the tool list the administrator declares (possibly empty), approved.
 */
export async function registerServer(actor: RegistryActor, input: RegisterServerInput): Promise<RegisteredServer> {
  const draftName = typeof (input as { name?: unknown }).name === 'string' ? (input as { name: string }).name.slice(0, 100) : '(invalid)';
  await requireRegistryAdmin(actor, 'register', { name: draftName });
  const server: ValidatedRegistration = parseInput(registerServerSchema, input);
  const subject = { name: server.name };
  const existing = await repository.serverRowByName(actor.tenantId, server.name);
  if (existing) throw new UserInputError(`an MCP server named ${server.name} exists already${existing.status === 'revoked' ? ' (revoked: names stay taken so the audit trail names one server)' : ''}`);
  const { entries: scope } = await resolveScope(actor.tenantId, server.scope);
  const ownerId = await ownerOf(actor, server.owner);
  const id = randomUUID();

  let tools: RecordedTool[] | null = null;
  let check: { ok: boolean; error: string | null; latencyMs: number } | null = null;
  let fields: repository.NewServer;
  if (server.transport === 'stdio') {
    tools = recordTools(server.tools);
    fields = { id, tenantId: actor.tenantId, name: server.name, description: server.description, ownerId, transport: 'stdio', url: null, command: server.command, args: server.args, env: server.env, upstreamAuth: 'none', secretHeader: null, sealedSecret: null, oauthConfig: null, allowPrivateNetwork: false };
  } else {
    await requireAllowedUrl(actor, 'register', subject, server.url, server.allowPrivateNetwork);
    const auth = server.upstreamAuth;
    const secretHeader = auth.type === 'static_secret' ? (auth.header ?? 'Authorization') : null;
    let oauthConfig: StoredOAuthConfig | null = null;
    if (auth.type === 'oauth_user') {
      oauthConfig = {
        ...(auth.authorizationServer ? { authorizationServer: auth.authorizationServer } : {}),
        ...(auth.clientId ? { clientId: auth.clientId } : {}),
        ...(auth.scope ? { scope: auth.scope } : {}),
        ...(auth.clientSecret ? { sealedClientSecret: await sealOAuthClientSecret(auth.clientSecret, id) } : {}),
      };
    }
    fields = {
      id,
      tenantId: actor.tenantId,
      name: server.name,
      description: server.description,
      ownerId,
      transport: server.transport,
      url: server.url,
      command: null,
      args: [],
      env: {},
      upstreamAuth: auth.type,
      secretHeader,
      sealedSecret: auth.type === 'static_secret' ? await sealUpstreamSecret(auth.secret, id) : null,
      oauthConfig: oauthConfig as Prisma.InputJsonValue | null,
      allowPrivateNetwork: server.allowPrivateNetwork,
    };
    const target = targetFrom({ ...fields, upstreamAuth: auth.type }, auth.type === 'static_secret' ? auth.secret : null, null);
    // A server that acts on behalf of each person answers nobody yet: its tools are recorded by a
    // check an administrator runs after connecting their own account.
    const result = auth.type === 'oauth_user' ? { ok: false as const, error: OAUTH_USER_FIRST_CHECK, latencyMs: 0 } : await checkUpstream(target);
    if (result.ok) {
      try {
        tools = recordTools(result.tools);
        check = { ok: true, error: null, latencyMs: result.latencyMs };
      } catch (error) {
        if (!(error instanceof UserInputError)) throw error;
        check = { ok: false, error: error.message, latencyMs: result.latencyMs };
      }
    } else check = { ok: false, error: result.error, latencyMs: result.latencyMs };
  }

  let version: number | null = null;
  try {
    await repository.inTransaction(async (tx) => {
      await repository.insertServer(tx, fields);
      await repository.replaceScopes(tx, id, scope, actor.userId);
      if (tools) {
        const row = await repository.insertVersion(tx, { serverId: id, tools, toolsDigest: toolsDigest(tools), source: 'registration', status: 'approved', reviewedBy: actor.userId, comment: 'registered' });
        await repository.setApprovedVersion(tx, id, row.id);
        version = row.version;
      }
      if (check) await repository.recordCheckResult(tx, id, check);
      await repository.bumpAllowlistSequence(tx, actor.tenantId);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new UserInputError(`an MCP server named ${server.name} exists already`);
    throw error;
  }
  await recordRegistryChange(actor, 'register', { id, name: server.name }, {
    transport: server.transport,
    ...(fields.url ? { url: auditedUrl(fields.url) } : { command: fields.command ?? '' }),
    upstream_auth: fields.upstreamAuth,
    allow_private_network: fields.allowPrivateNetwork,
    scope: scope.map((entry) => entry.label).join(', '),
    ...(tools ? { version: version ?? 0, tools: tools.length, tools_digest: toolsDigest(tools) } : {}),
    ...(check ? { check_ok: check.ok, ...(check.error ? { check_error: check.error } : {}) } : {}),
  });
  return reload(actor.tenantId, id);
}

const OAUTH_USER_FIRST_CHECK = 'it signs in on behalf of each person: connect your own account to it (MCP servers → Your connections), then run a check to record its tools';

/**
 * Why a scope that includes nobody is refused: a server nobody can see is almost always a slip
 * (every box unticked, or only people who have left). Registration may start with none ("nobody
 * yet"); taking a live server away from everyone is what revoking it says explicitly.
 */
const EMPTY_SCOPE = 'choose who may use the server: everyone, a department, a role or a person (an empty scope would hide it from everyone; to take it away from everyone, revoke it)';

/** A scope change as the scope editor makes it: what was dropped (people deleted or deactivated since) besides the server. */
export interface ScopeChange {
  server: RegisteredServer;
  /** Labels of entries left out because they name nobody any more, e.g. `user a@example.com (deactivated)`. */
  dropped: string[];
}

async function changeServer(actor: RegistryActor, name: string, input: UpdateServerInput, shownUsers?: ReadonlySet<string>): Promise<ScopeChange> {
  await requireRegistryAdmin(actor, 'update', { name });
  const update = parseInput(updateServerSchema, input);
  const row = await activeServer(actor, 'update', name);
  const resolved = update.scope ? await resolveScope(actor.tenantId, update.scope, shownUsers) : null;
  const scope = resolved?.entries ?? null;
  // Entries the server had that name nobody any more: replaced scopes leave them out, and the event says so.
  const before = await presentServer(row);
  const dropped = [...new Set([...(scope ? before.scope.filter((entry) => entry.stale).map((entry) => entry.label) : []), ...(resolved?.dropped ?? [])])];
  if (scope && scope.length === 0) {
    await recordRegistryChange(actor, 'update', row, { reason: 'empty_scope', ...(dropped.length ? { scope_dropped: dropped.join(', ').slice(0, 2000) } : {}) }, 'denied');
    throw new UserInputError(dropped.length ? `${EMPTY_SCOPE}; ${dropped.join(', ')} can no longer be in it` : EMPTY_SCOPE);
  }
  await repository.inTransaction(async (tx) => {
    // A revoke committed since activeServer() read the row must win: no scope on a revoked server.
    if (!(await repository.lockActiveServer(tx, row.id))) throw new UserInputError(`${name} was revoked meanwhile`);
    if (scope) await repository.replaceScopes(tx, row.id, scope, actor.userId);
    await repository.updateServerFields(tx, row.id, update.description !== undefined ? { description: update.description } : {});
    await repository.bumpAllowlistSequence(tx, actor.tenantId);
  });
  await recordRegistryChange(actor, 'update', row, {
    ...(scope ? { scope: scope.map((entry) => entry.label).join(', ') } : {}),
    ...(dropped.length ? { scope_dropped: dropped.join(', ').slice(0, 2000) } : {}),
    ...(update.description !== undefined ? { description_changed: update.description !== row.description } : {}),
  });
  return { server: await reload(actor.tenantId, row.id), dropped };
}

/** Changes a server's description and/or replaces its scope (the whole list, which must include someone). */
export async function updateServer(actor: RegistryActor, name: string, input: UpdateServerInput): Promise<RegisteredServer> {
  return (await changeServer(actor, name, input)).server;
}

/** Replaces who the server is for: roles, departments, users or everyone (never nobody: revoke instead). */
export function updateServerScope(actor: RegistryActor, name: string, scope: ScopeTarget[]): Promise<RegisteredServer> {
  return updateServer(actor, name, { scope });
}

/**
 * The scope editor's save: as updateServerScope, but `shownUsers` (the emails the editor showed
 * as in the scope) that were deleted or deactivated since are dropped and reported, not refused.
 */
export function saveEditedScope(actor: RegistryActor, name: string, scope: ScopeTarget[], shownUsers: readonly string[]): Promise<ScopeChange> {
  return changeServer(actor, name, { scope }, new Set(shownUsers.map((email) => email.trim().toLowerCase()).filter(Boolean)));
}

/** Revokes a server: it leaves every allowlist and the proxy refuses it. Revoked names stay taken. */
export async function revokeServer(actor: RegistryActor, name: string, reason = ''): Promise<RegisteredServer> {
  await requireRegistryAdmin(actor, 'revoke', { name });
  const why = reason.trim() || 'no reason given';
  const row = await activeServer(actor, 'revoke', name);
  const deleted = await repository.inTransaction(async (tx) => {
    if (!(await repository.markRevoked(tx, row.id, why.slice(0, 2000), actor.userId))) throw new UserInputError(`${name} was revoked meanwhile`);
    await repository.bumpAllowlistSequence(tx, actor.tenantId);
    // People's tokens for a revoked server are of no further use to anyone: they go with it.
    return deleteServerGrants(tx, row.id);
  });
  const grants = deleted.grants.length;
  await recordRegistryChange(actor, 'revoke', row, { reason: why.slice(0, 1000), ...(row.upstreamAuth === 'oauth_user' ? { upstream_grants_deleted: grants } : {}) });
  const revoked = await reload(actor.tenantId, row.id);
  await grantsDeletedBy(actor, revoked, deleted, 'server_revoked');
  return revoked;
}

/** Records the grants an administrator's change deleted, and has them revoked at their provider in the background. */
async function grantsDeletedBy(actor: RegistryActor, server: RegisteredServer, deleted: DeletedGrants, reason: 'server_revoked' | 'authorization_server_reset'): Promise<void> {
  if (deleted.grants.length === 0) return;
  const user = { id: actor.userId, email: actor.email, roles: actor.roles };
  // Scheduled first: a failing summary event must not leave the deleted grants unrevoked.
  revokeDeletedGrants(server, deleted, { actor, reason });
  await recordGrantEvent({ tenantId: actor.tenantId, user, server, action: 'revoke', outcome: 'success', reason, attributes: { grants_deleted: deleted.grants.length }, callSource: actor.callSource ?? 'dashboard' });
}

/**
 * An administrator accepts the authorization server an oauth_user server names now: its pinned
 * issuer, Gatehouse's clients there, pending sign-ins and everyone's grants are dropped, and the
 * next connection pins whatever the server names then. Until this, a server whose metadata named
 * another authorization server is refused (nobody's tokens or client secret go there).
 */
export async function resetUpstreamOAuth(actor: RegistryActor, name: string): Promise<{ previousIssuer: string | null; grantsDeleted: number }> {
  await requireRegistryAdmin(actor, 'reset_oauth', { name });
  const row = await activeServer(actor, 'reset_oauth', name);
  if (row.upstreamAuth !== 'oauth_user') throw new UserInputError(`${name} does not sign people in at an authorization server: there is nothing to reset`);
  const previousIssuer = await pinnedIssuer(row.id);
  const deleted = await resetIssuer(row.id);
  const grantsDeleted = deleted.grants.length;
  await recordRegistryChange(actor, 'reset_oauth', row, { previous_issuer: previousIssuer ?? '', upstream_grants_deleted: grantsDeleted });
  // The old grants' tokens go back to the issuer that made them (the pin as it was), never the new one.
  await grantsDeletedBy(actor, await presentServer(row), deleted, 'authorization_server_reset');
  return { previousIssuer, grantsDeleted };
}

/** What a check connects with: the server's own credentials, or for oauth_user the checking administrator's grant. */
async function checkTarget(server: RegisteredServer, actor: RegistryActor) {
  const target = await upstreamTarget(server);
  if (server.upstreamAuth !== 'oauth_user') return target;
  try {
    return await grantedTarget(server, target, actor.userId);
  } catch (error) {
    if (!(error instanceof UpstreamGrantRequired)) throw error;
    await recordRegistryChange(actor, 'check', server, { reason: `upstream_grant_${error.reason}` }, 'denied');
    throw new UserInputError(`${server.name}: ${OAUTH_USER_FIRST_CHECK}`);
  }
}

/** What a check found. `drift` names the pending version a changed tool list was held as. */
export interface CheckOutcome {
  ok: boolean;
  error: string | null;
  latencyMs: number;
  tools: number;
  /** unchanged: the approved list; drift: a new pending version; pending: the same list already waits for review. */
  result: 'failed' | 'unchanged' | 'drift' | 'pending';
  drift: { version: number; added: string[]; removed: string[]; changed: string[] } | null;
  server: RegisteredServer;
}

/**
 * Checks a remote server now (initialize + tools/list). A tool list equal to the approved one
 * changes nothing (and clears a stale pending one); a different one is held as a pending version
 * (source `check`) that changes nothing clients or the proxy use until approveVersion().
 */
export async function checkServer(actor: RegistryActor, name: string): Promise<CheckOutcome> {
  await requireRegistryAdmin(actor, 'check', { name });
  const row = await activeServer(actor, 'check', name);
  if (row.transport === 'stdio') throw new UserInputError(`${name} is a stdio server: it runs on devices and is not checked from here (record its tools with recordStdioTools)`);
  const server = await presentServer(row);
  const result = await checkUpstream(await checkTarget(server, actor));
  let tools: RecordedTool[] | null = null;
  let error = result.ok ? null : result.error;
  if (result.ok) {
    try {
      tools = recordTools(result.tools);
    } catch (refused) {
      if (!(refused instanceof UserInputError)) throw refused;
      error = refused.message;
    }
  }
  const outcome = await repository.inTransaction(async (tx) => {
    await repository.lockServer(tx, row.id);
    await repository.recordCheckResult(tx, row.id, { ok: tools !== null, error, latencyMs: result.latencyMs });
    if (!tools) return { result: 'failed' as const, drift: null };
    const digest = toolsDigest(tools);
    const approved = await repository.approvedVersionOf(tx, row.id);
    if (approved?.toolsDigest === digest) {
      // The server is back to what was approved: a pending change no longer describes it.
      if (await repository.setVersionsStatus(tx, row.id, 'pending', 'superseded', null)) await repository.bumpAllowlistSequence(tx, actor.tenantId);
      return { result: 'unchanged' as const, drift: null };
    }
    const changes = toolChanges((approved?.tools as unknown as RecordedTool[] | undefined) ?? [], tools);
    const pending = await repository.newestPendingVersion(tx, row.id);
    if (pending?.toolsDigest === digest) return { result: 'pending' as const, drift: { version: pending.version, ...changes } };
    await repository.setVersionsStatus(tx, row.id, 'pending', 'superseded', null);
    const added = await repository.insertVersion(tx, { serverId: row.id, tools, toolsDigest: digest, source: 'check', status: 'pending' });
    await repository.bumpAllowlistSequence(tx, actor.tenantId);
    return { result: 'drift' as const, drift: { version: added.version, ...changes } };
  });
  await recordRegistryChange(
    actor,
    'check',
    row,
    {
      check_ok: tools !== null,
      result: outcome.result,
      latency_ms: result.latencyMs,
      ...(error ? { check_error: error } : {}),
      ...(tools ? { tools: tools.length, tools_digest: toolsDigest(tools) } : {}),
      ...(outcome.drift
        ? { pending_version: outcome.drift.version, added: outcome.drift.added.join(', ').slice(0, 2000), removed: outcome.drift.removed.join(', ').slice(0, 2000), changed: outcome.drift.changed.join(', ').slice(0, 2000) }
        : {}),
    },
    tools ? 'success' : 'failure',
  );
  return { ok: tools !== null, error, latencyMs: result.latencyMs, tools: tools?.length ?? 0, result: outcome.result, drift: outcome.drift, server: await reload(actor.tenantId, row.id) };
}

/**
 * Approves a pending tool list (the given version, else the newest pending one): it becomes what
 * clients and the proxy use, and the one approved before it is superseded.
 */
export async function approveVersion(actor: RegistryActor, name: string, version?: number, comment = ''): Promise<RegisteredServer> {
  return decide(actor, name, 'approve', version, comment);
}

/** Rejects a pending tool list: the approved one stays in use; the next check that finds it again holds it again. */
export async function rejectVersion(actor: RegistryActor, name: string, version: number | undefined, comment: string): Promise<RegisteredServer> {
  if (!comment.trim()) throw new UserInputError('say why the tool list is rejected (it is recorded)');
  return decide(actor, name, 'reject', version, comment);
}

async function decide(actor: RegistryActor, name: string, action: 'approve' | 'reject', version: number | undefined, comment: string): Promise<RegisteredServer> {
  await requireRegistryAdmin(actor, action, { name });
  const row = await activeServer(actor, action, name);
  const decided = await repository.inTransaction(async (tx) => {
    await repository.lockServer(tx, row.id);
    const target = version === undefined ? await repository.newestPendingVersion(tx, row.id) : await repository.versionByNumber(tx, row.id, version);
    if (!target) throw new UserInputError(version === undefined ? `${name} has no tool list waiting for review` : `${name} has no version ${version}`);
    if (!(await repository.reviewVersion(tx, target.id, action === 'approve' ? 'approved' : 'rejected', actor.userId, comment.slice(0, 5000)))) {
      throw new UserInputError(`version ${target.version} of ${name} is ${target.status}, not waiting for review`);
    }
    if (action === 'approve') {
      await repository.setVersionsStatus(tx, row.id, 'approved', 'superseded', null, target.id);
      // Older pending lists are moot once a newer one is approved.
      await repository.setVersionsStatus(tx, row.id, 'pending', 'superseded', null);
      await repository.setApprovedVersion(tx, row.id, target.id);
    }
    await repository.bumpAllowlistSequence(tx, actor.tenantId);
    return target;
  });
  await recordRegistryChange(actor, action, row, { version: decided.version, tools_digest: decided.toolsDigest, ...(comment ? { comment: comment.slice(0, 1000) } : {}) });
  return reload(actor.tenantId, row.id);
}

/**
 * Stdio servers: an administrator records the tools the device-run server provides. The new
 * list is approved at once (the administrator is its source); an unchanged list changes nothing.
 */
export async function recordStdioTools(actor: RegistryActor, name: string, tools: readonly unknown[]): Promise<RegisteredServer> {
  await requireRegistryAdmin(actor, 'tools', { name });
  const row = await activeServer(actor, 'tools', name);
  if (row.transport !== 'stdio') throw new UserInputError(`${name} is a remote server: its tools come from its health check`);
  const recorded = recordTools(tools);
  const digest = toolsDigest(recorded);
  const version = await repository.inTransaction(async (tx) => {
    await repository.lockServer(tx, row.id);
    const approved = await repository.approvedVersionOf(tx, row.id);
    if (approved?.toolsDigest === digest) return null;
    const added = await repository.insertVersion(tx, { serverId: row.id, tools: recorded, toolsDigest: digest, source: 'edit', status: 'approved', reviewedBy: actor.userId, comment: 'recorded by an administrator' });
    await repository.setVersionsStatus(tx, row.id, 'approved', 'superseded', null, added.id);
    await repository.setApprovedVersion(tx, row.id, added.id);
    await repository.bumpAllowlistSequence(tx, actor.tenantId);
    return added.version;
  });
  if (version !== null) await recordRegistryChange(actor, 'tools', row, { version, tools: recorded.length, tools_digest: digest });
  return reload(actor.tenantId, row.id);
}
