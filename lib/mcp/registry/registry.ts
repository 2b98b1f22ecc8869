import { randomUUID } from 'node:crypto';
import { Prisma } from '@/lib/generated/prisma/client';
import { OutboundFetchRefused } from '@/lib/platform/outbound/fetch-public';
import { checkUpstreamUrl } from '@/lib/platform/outbound/upstream-fetch';
import { resolveAudienceTarget } from '@/lib/rbac/audience';
import { UpstreamGrantRequired } from '@/lib/mcp/upstream-oauth/errors';
import { recordGrantEvent } from '@/lib/mcp/upstream-oauth/events';
import { deleteServerGrants, pinnedIssuer, resetIssuer } from '@/lib/mcp/upstream-oauth/repository';
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

async function resolveScope(tenantId: string, targets: readonly ScopeTarget[]) {
  const entries = [];
  for (const target of targets) entries.push(await resolveAudienceTarget(tenantId, target));
  // A disabled person is refused, not silently given a server they would get back on re-enabling.
  const users = entries.filter((entry) => entry.kind === 'user');
  const active = await repository.activeUserIds(users.map((entry) => entry.subject));
  const disabled = users.find((entry) => !active.has(entry.subject));
  if (disabled) throw new UserInputError(`${disabled.label} is deactivated: only active people can be put in a server's scope`);
  return entries;
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
  const scope = await resolveScope(actor.tenantId, server.scope);
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

/** Changes a server's description and/or replaces its scope (the whole list; empty = nobody). */
export async function updateServer(actor: RegistryActor, name: string, input: UpdateServerInput): Promise<RegisteredServer> {
  await requireRegistryAdmin(actor, 'update', { name });
  const update = parseInput(updateServerSchema, input);
  const row = await activeServer(actor, 'update', name);
  const scope = update.scope ? await resolveScope(actor.tenantId, update.scope) : null;
  await repository.inTransaction(async (tx) => {
    // A revoke committed since activeServer() read the row must win: no scope on a revoked server.
    if (!(await repository.lockActiveServer(tx, row.id))) throw new UserInputError(`${name} was revoked meanwhile`);
    if (scope) await repository.replaceScopes(tx, row.id, scope, actor.userId);
    await repository.updateServerFields(tx, row.id, update.description !== undefined ? { description: update.description } : {});
    await repository.bumpAllowlistSequence(tx, actor.tenantId);
  });
  await recordRegistryChange(actor, 'update', row, {
    ...(scope ? { scope: scope.map((entry) => entry.label).join(', ') || 'nobody' } : {}),
    ...(update.description !== undefined ? { description_changed: update.description !== row.description } : {}),
  });
  return reload(actor.tenantId, row.id);
}

/** Replaces who the server is for: roles, departments, users or everyone (empty = nobody). */
export function updateServerScope(actor: RegistryActor, name: string, scope: ScopeTarget[]): Promise<RegisteredServer> {
  return updateServer(actor, name, { scope });
}

/** Revokes a server: it leaves every allowlist and the proxy refuses it. Revoked names stay taken. */
export async function revokeServer(actor: RegistryActor, name: string, reason = ''): Promise<RegisteredServer> {
  await requireRegistryAdmin(actor, 'revoke', { name });
  const why = reason.trim() || 'no reason given';
  const row = await activeServer(actor, 'revoke', name);
  const grants = await repository.inTransaction(async (tx) => {
    if (!(await repository.markRevoked(tx, row.id, why.slice(0, 2000), actor.userId))) throw new UserInputError(`${name} was revoked meanwhile`);
    await repository.bumpAllowlistSequence(tx, actor.tenantId);
    // People's tokens for a revoked server are of no further use to anyone: they go with it.
    return deleteServerGrants(tx, row.id);
  });
  await recordRegistryChange(actor, 'revoke', row, { reason: why.slice(0, 1000), ...(row.upstreamAuth === 'oauth_user' ? { upstream_grants_deleted: grants } : {}) });
  if (grants > 0) {
    await recordGrantEvent({ tenantId: actor.tenantId, user: { id: actor.userId, email: actor.email, roles: actor.roles }, server: row, action: 'revoke', outcome: 'success', reason: 'server_revoked', attributes: { grants_deleted: grants }, callSource: actor.callSource ?? 'dashboard' });
  }
  return reload(actor.tenantId, row.id);
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
  const grantsDeleted = await resetIssuer(row.id);
  await recordRegistryChange(actor, 'reset_oauth', row, { previous_issuer: previousIssuer ?? '', upstream_grants_deleted: grantsDeleted });
  if (grantsDeleted > 0) {
    await recordGrantEvent({ tenantId: actor.tenantId, user: { id: actor.userId, email: actor.email, roles: actor.roles }, server: row, action: 'revoke', outcome: 'success', reason: 'authorization_server_reset', attributes: { grants_deleted: grantsDeleted }, callSource: actor.callSource ?? 'dashboard' });
  }
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
