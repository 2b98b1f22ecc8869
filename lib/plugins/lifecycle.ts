import { newTraceId } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { authorize, ForbiddenError, type Permission } from '@/lib/rbac';
import { resolveAudienceTarget, type AudienceTarget } from '@/lib/rbac/audience';
import { JWS_TYPES, signAsOrganisation } from '@/lib/signing';
import { UserInputError } from '@/lib/users/tenant';
import { recordPluginEvent, type PluginAction, type PluginActor } from './events';
import { compareSemver } from './semver';
import { bumpSequence, insertVersion, pluginByName, versionById, versionByName, versionFiles } from './store';
import { validatePlugin, MANIFEST_PATH, type ValidatedPlugin } from './validate';

/**
 * Everything that changes the org-plugins supply chain: publish, review, sign, withdraw, revoke,
 * entitle, install, fork. Each checks the actor's permission here (whoever calls: dashboard, CLI,
 * API), records a `plugin.lifecycle` event with the actor's trace id, and refusals are recorded
 * as denied events before ForbiddenError is thrown.
 */

async function actorDepartment(actor: PluginActor): Promise<string | null> {
  const user = await db().user.findUnique({ where: { id: actor.userId }, select: { departmentId: true } });
  return user?.departmentId ?? null;
}

async function requirePluginPermission(actor: PluginActor, permission: Permission, departmentId: string | null, action: PluginAction, plugin: { id?: string; name: string; version?: string }): Promise<void> {
  if (await authorize({ userId: actor.userId, tenantId: actor.tenantId }, permission, { departmentId })) return;
  await recordPluginEvent(actor, action, { plugin, outcome: 'denied', attributes: { permission, ...(departmentId ? { department_id: departmentId } : {}) } });
  throw new ForbiddenError(permission, departmentId);
}

async function refuse(actor: PluginActor, action: PluginAction, plugin: { id?: string; name: string; version?: string }, reason: string): Promise<never> {
  await recordPluginEvent(actor, action, { plugin, outcome: 'denied', error: reason });
  throw new UserInputError(reason);
}

export interface PublishResult {
  pluginId: string;
  versionId: string;
  name: string;
  version: string;
  traceId: string;
}

/**
 * Stores a validated plugin as a pending version (a draft for review). A new name creates the
 * plugin, owned by the author, in the author's department; a known name takes a new version from
 * its owner or a reviewer only, and only above every version it already has (versions are
 * immutable: 1.2.0 is never replaced, a fix is 1.2.1).
 */
export async function publishVersion(actor: PluginActor, plugin: ValidatedPlugin, options: { changelog?: string; category?: string; forkedFromVersionId?: string } = {}): Promise<PublishResult> {
  const { name, version } = plugin.manifest;
  const subject = { name, version };
  const existing = await pluginByName(actor.tenantId, name);
  const department = await actorDepartment(actor);
  if (!existing) await requirePluginPermission(actor, 'plugins.publish', department, 'publish', subject);
  else {
    if (existing.status === 'revoked') await refuse(actor, 'publish', subject, `${name} was revoked and takes no new versions`);
    const mayPublish = existing.ownerId === actor.userId ? 'plugins.publish' : 'plugins.review';
    await requirePluginPermission(actor, mayPublish, existing.departmentId, 'publish', subject);
  }
  const result = await db().$transaction(async (tx) => {
    const target =
      existing ??
      (await tx.plugin.create({
        data: {
          tenantId: actor.tenantId,
          name,
          ownerId: actor.userId,
          departmentId: department,
          category: normaliseCategory(options.category ?? plugin.manifest.category ?? plugin.manifest.categories?.[0]),
          forkedFromVersionId: options.forkedFromVersionId ?? null,
        },
      }));
    const versions = await tx.pluginVersion.findMany({ where: { pluginId: target.id }, select: { version: true } });
    const higher = versions.find((other) => compareSemver(other.version, version) >= 0);
    if (higher) return { refused: `${name} already has version ${higher.version}; publish a higher version (versions never change once published)` } as const;
    const row = await insertVersion(tx, { pluginId: target.id, plugin, authorId: actor.userId, changelog: (options.changelog ?? '').slice(0, 10_000) });
    await tx.plugin.update({ where: { id: target.id }, data: { updatedAt: new Date() } });
    return { pluginId: target.id, version: row };
  });
  if ('refused' in result) return refuse(actor, 'publish', subject, result.refused!);
  const traceId = await recordPluginEvent(actor, 'publish', {
    plugin: { id: result.pluginId, name, version, digest: result.version.digest },
    attributes: { version_id: result.version.id, files: plugin.files.length, hooks: plugin.components.hooks.length, mcp_servers: plugin.components.mcpServers.length },
  });
  return { pluginId: result.pluginId, versionId: result.version.id, name, version, traceId };
}

export const CATEGORIES = ['productivity', 'engineering', 'data', 'sales', 'support', 'security', 'writing', 'other'] as const;

function normaliseCategory(value: string | undefined): string {
  const lower = (value ?? '').toLowerCase();
  return (CATEGORIES as readonly string[]).includes(lower) ? lower : 'other';
}

/** What an organisation signature on an approved version says. */
export interface SignedVersion {
  tenant: string;
  pluginId: string;
  plugin: string;
  versionId: string;
  version: string;
  digest: string;
  archiveSha256: string;
  approvedBy: string;
  iat: number;
}

async function pendingVersion(actor: PluginActor, versionId: string, action: PluginAction) {
  const version = await versionById(actor.tenantId, versionId);
  if (!version) throw new UserInputError('no such plugin version');
  const subject = { id: version.pluginId, name: version.plugin.name, version: version.version };
  await requirePluginPermission(actor, 'plugins.review', version.plugin.departmentId, action, subject);
  if (version.status !== 'pending') await refuse(actor, action, subject, `${version.plugin.name}@${version.version} is ${version.status}, not waiting for review`);
  if (version.authorId === actor.userId) await refuse(actor, action, subject, 'you published this version; another reviewer must decide on it');
  return version;
}

/** Approves a pending version and signs it with the organisation key. */
export async function approveVersion(actor: PluginActor, versionId: string, comment: string, options: { selfInstall?: boolean } = {}): Promise<{ traceId: string; kid: string }> {
  const version = await pendingVersion(actor, versionId, 'approve');
  const statement: SignedVersion = {
    tenant: actor.tenantId,
    pluginId: version.pluginId,
    plugin: version.plugin.name,
    versionId: version.id,
    version: version.version,
    digest: version.digest,
    archiveSha256: version.archiveSha256,
    approvedBy: actor.email,
    iat: Math.floor(Date.now() / 1000),
  };
  const { jws, kid } = await signAsOrganisation(statement, JWS_TYPES.pluginVersion);
  await db().$transaction(async (tx) => {
    const updated = await tx.pluginVersion.updateMany({
      where: { id: version.id, status: 'pending' },
      data: { status: 'approved', reviewedBy: actor.userId, reviewedAt: new Date(), reviewComment: comment.slice(0, 5000), signature: jws, signedKid: kid },
    });
    if (updated.count !== 1) throw new UserInputError('this version was decided on meanwhile');
    if (options.selfInstall !== undefined) await tx.plugin.update({ where: { id: version.pluginId }, data: { selfInstall: options.selfInstall } });
    await tx.plugin.update({ where: { id: version.pluginId }, data: { updatedAt: new Date() } });
    await bumpSequence(tx, actor.tenantId);
  });
  const subject = { id: version.pluginId, name: version.plugin.name, version: version.version, digest: version.digest };
  const traced = { ...actor, traceId: actor.traceId ?? newTraceId() };
  await recordPluginEvent(traced, 'approve', { plugin: subject, attributes: { version_id: version.id, ...(comment ? { comment: comment.slice(0, 1000) } : {}) } });
  await recordPluginEvent(traced, 'sign', { plugin: { ...subject, signatureVerified: true }, attributes: { kid, version_id: version.id } });
  return { traceId: traced.traceId, kid };
}

export async function rejectVersion(actor: PluginActor, versionId: string, comment: string): Promise<{ traceId: string }> {
  if (!comment.trim()) throw new UserInputError('say why the version is rejected, so its author can fix it');
  const version = await pendingVersion(actor, versionId, 'reject');
  await db().pluginVersion.update({ where: { id: version.id }, data: { status: 'rejected', reviewedBy: actor.userId, reviewedAt: new Date(), reviewComment: comment.slice(0, 5000) } });
  const traceId = await recordPluginEvent(actor, 'reject', { plugin: { id: version.pluginId, name: version.plugin.name, version: version.version }, attributes: { version_id: version.id, comment: comment.slice(0, 1000) } });
  return { traceId };
}

/** Withdraws an approved version: devices remove it (or fall back to the previous approved one) at their next sync. */
export async function withdrawVersion(actor: PluginActor, name: string, versionName: string, reason: string): Promise<{ traceId: string }> {
  if (!reason.trim()) throw new UserInputError('a withdrawal needs a reason (it is shown on the plugin page and recorded)');
  const version = await versionByName(actor.tenantId, name, versionName);
  if (!version) throw new UserInputError(`no version ${versionName} of ${name}`);
  const subject = { id: version.pluginId, name, version: versionName };
  if (version.plugin.ownerId !== actor.userId) await requirePluginPermission(actor, 'plugins.review', version.plugin.departmentId, 'withdraw', subject);
  if (version.status === 'withdrawn') await refuse(actor, 'withdraw', subject, `${name}@${versionName} is already withdrawn`);
  await db().$transaction(async (tx) => {
    await tx.pluginVersion.update({ where: { id: version.id }, data: { status: 'withdrawn', withdrawnReason: reason.slice(0, 2000), withdrawnAt: new Date() } });
    await tx.plugin.update({ where: { id: version.pluginId }, data: { updatedAt: new Date() } });
    await bumpSequence(tx, actor.tenantId);
  });
  const traceId = await recordPluginEvent(actor, 'withdraw', { plugin: subject, attributes: { reason: reason.slice(0, 1000), previous_status: version.status } });
  return { traceId };
}

/** Revokes a plugin with all its versions: it leaves every device and takes no new versions. */
export async function revokePlugin(actor: PluginActor, name: string, reason: string): Promise<{ traceId: string }> {
  if (!reason.trim()) throw new UserInputError('a revocation needs a reason');
  const plugin = await pluginByName(actor.tenantId, name);
  if (!plugin) throw new UserInputError(`no plugin named ${name}`);
  await requirePluginPermission(actor, 'plugins.review', plugin.departmentId, 'revoke', { id: plugin.id, name });
  await db().$transaction(async (tx) => {
    await tx.plugin.update({ where: { id: plugin.id }, data: { status: 'revoked', revokedReason: reason.slice(0, 2000), revokedAt: new Date(), updatedAt: new Date() } });
    await tx.pluginVersion.updateMany({ where: { pluginId: plugin.id, status: { in: ['approved', 'pending'] } }, data: { status: 'withdrawn', withdrawnReason: `plugin revoked: ${reason.slice(0, 1900)}`, withdrawnAt: new Date() } });
    await bumpSequence(tx, actor.tenantId);
  });
  const traceId = await recordPluginEvent(actor, 'revoke', { plugin: { id: plugin.id, name }, attributes: { reason: reason.slice(0, 1000) } });
  return { traceId };
}

/** Role name, department slug or user email, by kind; value ignored for everyone. */
export type EntitlementTarget = AudienceTarget;

/** Entitles a role, department or user (or everyone) to a plugin; reviewers of its department may. */
export async function entitle(actor: PluginActor, name: string, target: EntitlementTarget, remove = false): Promise<{ traceId: string; label: string }> {
  const plugin = await pluginByName(actor.tenantId, name);
  if (!plugin) throw new UserInputError(`no plugin named ${name}`);
  const action = remove ? 'unentitle' : 'entitle';
  await requirePluginPermission(actor, 'plugins.review', plugin.departmentId, action, { id: plugin.id, name });
  const { subject, label } = await resolveAudienceTarget(actor.tenantId, target);
  await db().$transaction(async (tx) => {
    if (remove) await tx.pluginEntitlement.deleteMany({ where: { pluginId: plugin.id, kind: target.kind, subject } });
    else await tx.pluginEntitlement.upsert({ where: { pluginId_kind_subject: { pluginId: plugin.id, kind: target.kind, subject } }, create: { pluginId: plugin.id, kind: target.kind, subject, createdBy: actor.userId }, update: {} });
    await bumpSequence(tx, actor.tenantId);
  });
  const traceId = await recordPluginEvent(actor, action, { plugin: { id: plugin.id, name }, attributes: { kind: target.kind, subject: label } });
  return { traceId, label };
}

/**
 * Install from the marketplace: entitles the actor where the plugin allows members to install it
 * themselves, else files a request that appears in the review queue.
 */
export async function installForSelf(actor: PluginActor, name: string, reason = ''): Promise<{ outcome: 'installed' | 'requested' | 'already'; traceId: string }> {
  const plugin = await pluginByName(actor.tenantId, name);
  const unknown = `no installable plugin named ${name}`;
  if (!plugin || plugin.status !== 'active') throw new UserInputError(unknown);
  const subject = { id: plugin.id, name };
  // Installing is about oneself: plugins.install held in one's own department is enough.
  await requirePluginPermission(actor, 'plugins.install', await actorDepartment(actor), 'install', subject);
  // A draft answers like a plugin that does not exist: its name is not news to members yet.
  const approved = await db().pluginVersion.count({ where: { pluginId: plugin.id, status: 'approved' } });
  if (approved === 0) await refuse(actor, 'install', subject, unknown);
  const existing = await db().pluginEntitlement.findUnique({ where: { pluginId_kind_subject: { pluginId: plugin.id, kind: 'user', subject: actor.userId } } });
  if (existing) return { outcome: 'already', traceId: actor.traceId ?? '' };
  if (plugin.selfInstall) {
    await db().$transaction(async (tx) => {
      await tx.pluginEntitlement.create({ data: { pluginId: plugin.id, kind: 'user', subject: actor.userId, createdBy: actor.userId } });
      await bumpSequence(tx, actor.tenantId);
    });
    return { outcome: 'installed', traceId: await recordPluginEvent(actor, 'install', { plugin: subject, attributes: { via: 'self' } }) };
  }
  const pending = await db().pluginInstallRequest.findFirst({ where: { pluginId: plugin.id, userId: actor.userId, status: 'pending' } });
  if (!pending) await db().pluginInstallRequest.create({ data: { pluginId: plugin.id, userId: actor.userId, reason: reason.slice(0, 2000) } });
  return { outcome: 'requested', traceId: await recordPluginEvent(actor, 'request', { plugin: subject }) };
}

/** A reviewer grants or refuses an install request; granting entitles the requester. */
export async function decideInstallRequest(actor: PluginActor, requestId: string, grant: boolean, comment = ''): Promise<{ traceId: string }> {
  const request = await db().pluginInstallRequest.findFirst({ where: { id: requestId, plugin: { tenantId: actor.tenantId } }, include: { plugin: true } });
  if (!request) throw new UserInputError('no such install request');
  const subject = { id: request.pluginId, name: request.plugin.name };
  await requirePluginPermission(actor, 'plugins.review', request.plugin.departmentId, grant ? 'entitle' : 'reject', subject);
  if (request.status !== 'pending') await refuse(actor, grant ? 'entitle' : 'reject', subject, 'this request was decided on already');
  await db().$transaction(async (tx) => {
    await tx.pluginInstallRequest.update({ where: { id: request.id }, data: { status: grant ? 'approved' : 'rejected', decidedBy: actor.userId, decidedAt: new Date(), comment: comment.slice(0, 2000) } });
    if (grant) {
      await tx.pluginEntitlement.upsert({
        where: { pluginId_kind_subject: { pluginId: request.pluginId, kind: 'user', subject: request.userId } },
        create: { pluginId: request.pluginId, kind: 'user', subject: request.userId, createdBy: actor.userId },
        update: {},
      });
      await bumpSequence(tx, actor.tenantId);
    }
  });
  const traceId = await recordPluginEvent(actor, grant ? 'entitle' : 'reject', { plugin: subject, attributes: { request_id: request.id, kind: 'user', subject: request.userId } });
  return { traceId };
}

/**
 * Copies an approved version into a new plugin of the actor's, renamed, submitted for review as
 * its first version; the new plugin records the version it came from.
 */
export async function forkVersion(actor: PluginActor, sourceVersionId: string, newName: string, changelog = ''): Promise<PublishResult> {
  const source = await versionById(actor.tenantId, sourceVersionId);
  if (!source || source.status !== 'approved' || source.plugin.status !== 'active') throw new UserInputError('only an approved version of an active plugin can be forked');
  const files = await versionFiles(source.id);
  const manifestFile = files.find((file) => file.path === MANIFEST_PATH)!;
  const manifest = JSON.parse(manifestFile.content.toString('utf8')) as Record<string, unknown>;
  const renamed = { ...manifest, name: newName, version: '1.0.0' };
  const forkedFiles = files.map((file) => (file.path === MANIFEST_PATH ? { path: file.path, content: Buffer.from(`${JSON.stringify(renamed, null, 2)}\n`) } : file));
  const plugin = validatePlugin(forkedFiles);
  if (await pluginByName(actor.tenantId, plugin.manifest.name)) throw new UserInputError(`a plugin named ${plugin.manifest.name} exists already; choose another name for your fork`);
  const published = await publishVersion(actor, plugin, {
    changelog: changelog || `Forked from ${source.plugin.name}@${source.version}.`,
    category: source.plugin.category,
    forkedFromVersionId: source.id,
  });
  await recordPluginEvent({ ...actor, traceId: published.traceId }, 'fork', {
    plugin: { id: published.pluginId, name: published.name, version: published.version },
    attributes: { forked_from: `${source.plugin.name}@${source.version}`, forked_from_version_id: source.id },
  });
  return published;
}

/** Changes whether members may install the plugin themselves. */
export async function setSelfInstall(actor: PluginActor, name: string, selfInstall: boolean): Promise<void> {
  const plugin = await pluginByName(actor.tenantId, name);
  if (!plugin) throw new UserInputError(`no plugin named ${name}`);
  await requirePluginPermission(actor, 'plugins.review', plugin.departmentId, 'settings', { id: plugin.id, name });
  await db().plugin.update({ where: { id: plugin.id }, data: { selfInstall } });
  await recordPluginEvent(actor, 'settings', { plugin: { id: plugin.id, name }, attributes: { self_install: selfInstall } });
}
