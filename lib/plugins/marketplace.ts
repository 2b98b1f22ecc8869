import { db } from '@/lib/db/client';
import { authorize, permissionScope } from '@/lib/rbac';
import { JWS_TYPES, orgKeyDocument, trustedKeysFrom, verifyCompact } from '@/lib/signing';
import { UserInputError } from '@/lib/users/tenant';
import { recordPluginEvent, type PluginActor } from './events';
import { compareSemver } from './semver';
import { componentsOf, fileListOf, latestApproved, pluginByName, userNames } from './store';
import type { PluginComponents } from './validate';

/** What the marketplace pages read: listings, plugin pages, reviews, the review queue. */

export type MarketplaceSort = 'rating' | 'installs' | 'updated' | 'name';

export interface MarketplaceFilters {
  q?: string;
  category?: string;
  department?: string;
  sort?: MarketplaceSort;
}

export interface MarketplaceCard {
  name: string;
  displayName: string;
  description: string;
  version: string;
  category: string;
  department: string | null;
  rating: number | null;
  ratings: number;
  installs: number;
  updatedAt: Date;
  brings: { hooks: number; mcpServers: number; skills: number; commands: number; agents: number };
  forkedFrom: string | null;
}

async function departmentSlugs(tenantId: string): Promise<Map<string, string>> {
  return new Map((await db().department.findMany({ where: { tenantId } })).map((department) => [department.id, department.slug]));
}

/** Active plugins with an approved version, filtered and sorted. */
export async function listMarketplace(tenantId: string, filters: MarketplaceFilters = {}): Promise<MarketplaceCard[]> {
  const plugins = await db().plugin.findMany({
    where: { tenantId, status: 'active', versions: { some: { status: 'approved' } } },
    include: { versions: { where: { status: 'approved' } }, ratings: { where: { hidden: false }, select: { stars: true } }, entitlements: { where: { kind: 'user' }, select: { id: true } } },
  });
  const departments = await departmentSlugs(tenantId);
  const forkSources = await db().pluginVersion.findMany({ where: { id: { in: plugins.flatMap((plugin) => (plugin.forkedFromVersionId ? [plugin.forkedFromVersionId] : [])) } }, include: { plugin: true } });
  const forkNames = new Map(forkSources.map((version) => [version.id, `${version.plugin.name}@${version.version}`]));
  const devices = await db().pluginDeviceSync.findMany({ where: { tenantId }, select: { plugins: true } });
  const deviceCounts = new Map<string, number>();
  for (const device of devices) for (const entry of device.plugins as { name: string }[]) deviceCounts.set(entry.name, (deviceCounts.get(entry.name) ?? 0) + 1);

  const query = filters.q?.trim().toLowerCase();
  const cards = plugins.flatMap((plugin): MarketplaceCard[] => {
    const version = latestApproved(plugin.versions);
    if (!version) return [];
    const manifest = version.manifest as { description?: string; displayName?: string; keywords?: string[] };
    const components = componentsOf(version);
    const stars = plugin.ratings.map((rating) => rating.stars);
    return [
      {
        name: plugin.name,
        displayName: manifest.displayName ?? plugin.name,
        description: manifest.description ?? '',
        version: version.version,
        category: plugin.category,
        department: plugin.departmentId ? (departments.get(plugin.departmentId) ?? null) : null,
        rating: stars.length ? stars.reduce((sum, value) => sum + value, 0) / stars.length : null,
        ratings: stars.length,
        installs: Math.max(plugin.entitlements.length, deviceCounts.get(plugin.name) ?? 0),
        updatedAt: plugin.updatedAt,
        brings: { hooks: components.hooks.length, mcpServers: components.mcpServers.length, skills: components.skills.length, commands: components.commands.length, agents: components.agents.length },
        forkedFrom: plugin.forkedFromVersionId ? (forkNames.get(plugin.forkedFromVersionId) ?? null) : null,
      },
    ];
  });
  const filtered = cards.filter(
    (card) =>
      (!query || `${card.name} ${card.displayName} ${card.description}`.toLowerCase().includes(query)) &&
      (!filters.category || card.category === filters.category) &&
      (!filters.department || card.department === filters.department),
  );
  const sort = filters.sort ?? 'updated';
  return filtered.sort((a, b) => {
    if (sort === 'rating') return (b.rating ?? 0) - (a.rating ?? 0) || b.ratings - a.ratings;
    if (sort === 'installs') return b.installs - a.installs;
    if (sort === 'name') return a.name.localeCompare(b.name);
    return b.updatedAt.getTime() - a.updatedAt.getTime();
  });
}

export interface VersionView {
  id: string;
  version: string;
  status: string;
  changelog: string;
  createdAt: Date;
  author: string;
  reviewComment: string | null;
  reviewedBy: string | null;
  withdrawnReason: string | null;
  signature: { status: 'verified' | 'invalid' | 'unsigned'; kid: string | null };
}

export interface RatingView {
  id: string;
  userId: string;
  author: string;
  stars: number;
  body: string;
  hidden: boolean;
  reply: string | null;
  updatedAt: Date;
}

export interface PluginPage {
  id: string;
  name: string;
  description: string;
  category: string;
  status: string;
  revokedReason: string | null;
  owner: { id: string; email: string; name: string };
  department: string | null;
  selfInstall: boolean;
  forkedFrom: { name: string; version: string } | null;
  current: VersionView | null;
  readme: string | null;
  components: PluginComponents | null;
  files: { path: string; size: number; sha256: string }[];
  versions: VersionView[];
  ratings: RatingView[];
  entitlements: { kind: string; label: string }[];
  entitledToViewer: boolean;
  pendingRequest: boolean;
  viewerRating: RatingView | null;
  canReview: boolean;
  canPublish: boolean;
}

async function signatureStatus(signature: string | null, digest: string, kid: string | null, keys: ReturnType<typeof trustedKeysFrom>): Promise<VersionView['signature']> {
  if (!signature) return { status: 'unsigned', kid: null };
  try {
    const { payload } = verifyCompact<{ digest: string }>(signature, keys, JWS_TYPES.pluginVersion);
    return { status: payload.digest === digest ? 'verified' : 'invalid', kid };
  } catch {
    return { status: 'invalid', kid };
  }
}

/** A plugin page as `viewer` sees it; null when there is no such plugin (or nothing they may see). */
export async function pluginPage(viewer: PluginActor, name: string): Promise<PluginPage | null> {
  const plugin = await db().plugin.findUnique({
    where: { tenantId_name: { tenantId: viewer.tenantId, name } },
    include: { versions: true, ratings: true, entitlements: true, requests: { where: { userId: viewer.userId, status: 'pending' } } },
  });
  if (!plugin) return null;
  const principal = { userId: viewer.userId, tenantId: viewer.tenantId };
  const canReview = await authorize(principal, 'plugins.review', { departmentId: plugin.departmentId });
  const isOwner = plugin.ownerId === viewer.userId;
  const current = latestApproved(plugin.versions);
  // Drafts and rejected versions are for their author and reviewers only.
  if (!current && !isOwner && !canReview) return null;
  const visible = plugin.versions.filter((version) => isOwner || canReview || version.status === 'approved' || version.status === 'withdrawn').sort((a, b) => compareSemver(b.version, a.version));
  const names = await userNames([plugin.ownerId, ...plugin.versions.flatMap((version) => [version.authorId, ...(version.reviewedBy ? [version.reviewedBy] : [])]), ...plugin.ratings.map((rating) => rating.userId)]);
  const keys = trustedKeysFrom(await orgKeyDocument());
  const versions = await Promise.all(
    visible.map(async (version) => ({
      id: version.id,
      version: version.version,
      status: version.status,
      changelog: version.changelog,
      createdAt: version.createdAt,
      author: names.get(version.authorId)?.email ?? 'unknown',
      reviewComment: version.reviewComment,
      reviewedBy: version.reviewedBy ? (names.get(version.reviewedBy)?.email ?? null) : null,
      withdrawnReason: version.withdrawnReason,
      signature: await signatureStatus(version.signature, version.digest, version.signedKid, keys),
    })),
  );
  const shown = current ?? visible[0] ?? null;
  const departments = await departmentSlugs(viewer.tenantId);
  const forkSource = plugin.forkedFromVersionId ? await db().pluginVersion.findUnique({ where: { id: plugin.forkedFromVersionId }, include: { plugin: true } }) : null;
  const viewerUser = await db().user.findUnique({ where: { id: viewer.userId }, include: { roleBindings: { include: { role: true } } } });
  const viewerRoles = new Set(viewerUser?.roleBindings.map((binding) => binding.role.name) ?? []);
  const entitledToViewer = plugin.entitlements.some(
    (entry) => entry.kind === 'everyone' || (entry.kind === 'user' && entry.subject === viewer.userId) || (entry.kind === 'department' && entry.subject === viewerUser?.departmentId) || (entry.kind === 'role' && viewerRoles.has(entry.subject)),
  );
  const entitlementUsers = await userNames(plugin.entitlements.filter((entry) => entry.kind === 'user').map((entry) => entry.subject));
  const ratings: RatingView[] = plugin.ratings
    .filter((rating) => !rating.hidden || canReview || rating.userId === viewer.userId)
    .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())
    .map((rating) => ({ id: rating.id, userId: rating.userId, author: names.get(rating.userId)?.name ?? 'someone', stars: rating.stars, body: rating.body, hidden: rating.hidden, reply: rating.reply, updatedAt: rating.updatedAt }));
  return {
    id: plugin.id,
    name: plugin.name,
    description: ((shown?.manifest ?? {}) as { description?: string }).description ?? '',
    category: plugin.category,
    status: plugin.status,
    revokedReason: plugin.revokedReason,
    owner: { id: plugin.ownerId, ...(names.get(plugin.ownerId) ?? { email: 'unknown', name: 'unknown' }) },
    department: plugin.departmentId ? (departments.get(plugin.departmentId) ?? null) : null,
    selfInstall: plugin.selfInstall,
    forkedFrom: forkSource ? { name: forkSource.plugin.name, version: forkSource.version } : null,
    current: shown ? versions.find((version) => version.id === shown.id) ?? null : null,
    readme: shown?.readme ?? null,
    components: shown ? componentsOf(shown) : null,
    files: shown ? await fileListOf(shown.id) : [],
    versions,
    ratings,
    entitlements: plugin.entitlements.map((entry) => ({
      kind: entry.kind,
      label: entry.kind === 'everyone' ? 'Everyone' : entry.kind === 'department' ? `Department ${departments.get(entry.subject) ?? entry.subject}` : entry.kind === 'role' ? `Role ${entry.subject}` : `User ${entitlementUsers.get(entry.subject)?.email ?? entry.subject}`,
    })),
    entitledToViewer,
    pendingRequest: plugin.requests.length > 0,
    viewerRating: ratings.find((rating) => rating.userId === viewer.userId) ?? null,
    canReview,
    canPublish: await authorize(principal, 'plugins.publish', { departmentId: viewerUser?.departmentId ?? null }),
  };
}

/** Writes (or edits) the viewer's review of a plugin: 1–5 stars and text, one per user. */
export async function ratePlugin(actor: PluginActor, name: string, stars: number, body: string): Promise<{ traceId: string }> {
  if (!Number.isInteger(stars) || stars < 1 || stars > 5) throw new UserInputError('choose 1 to 5 stars');
  const plugin = await pluginByName(actor.tenantId, name);
  // A plugin without an approved version is a draft only its author and reviewers see: it answers
  // like a missing one, so a review cannot probe for (or land on) someone's unpublished plugin.
  const approved = plugin && plugin.status === 'active' ? await db().pluginVersion.count({ where: { pluginId: plugin.id, status: 'approved' } }) : 0;
  if (!plugin || approved === 0) throw new UserInputError(`no plugin named ${name}`);
  if (plugin.ownerId === actor.userId) throw new UserInputError('authors cannot review their own plugin (reply to reviews instead)');
  const text = body.trim().slice(0, 4000);
  const existing = await db().pluginRating.findUnique({ where: { pluginId_userId: { pluginId: plugin.id, userId: actor.userId } } });
  await db().pluginRating.upsert({
    where: { pluginId_userId: { pluginId: plugin.id, userId: actor.userId } },
    create: { pluginId: plugin.id, userId: actor.userId, stars, body: text },
    update: { stars, body: text, updatedAt: new Date() },
  });
  const traceId = await recordPluginEvent(actor, 'review', { plugin: { id: plugin.id, name }, attributes: { stars, edited: Boolean(existing) } });
  return { traceId };
}

/** The plugin's owner answers a review (shown under it). */
export async function replyToRating(actor: PluginActor, ratingId: string, reply: string): Promise<void> {
  const rating = await db().pluginRating.findFirst({ where: { id: ratingId, plugin: { tenantId: actor.tenantId } }, include: { plugin: true } });
  if (!rating) throw new UserInputError('no such review');
  if (rating.plugin.ownerId !== actor.userId) throw new UserInputError('only the plugin’s author can reply to its reviews');
  await db().pluginRating.update({ where: { id: rating.id }, data: { reply: reply.trim().slice(0, 4000) || null, repliedAt: new Date() } });
  await recordPluginEvent(actor, 'review', { plugin: { id: rating.pluginId, name: rating.plugin.name }, attributes: { reply_to: rating.id } });
}

/** A reviewer hides an abusive review (or shows it again). */
export async function hideRating(actor: PluginActor, ratingId: string, hidden: boolean): Promise<void> {
  const rating = await db().pluginRating.findFirst({ where: { id: ratingId, plugin: { tenantId: actor.tenantId } }, include: { plugin: true } });
  if (!rating) throw new UserInputError('no such review');
  const subject = { id: rating.pluginId, name: rating.plugin.name };
  if (!(await authorize({ userId: actor.userId, tenantId: actor.tenantId }, 'plugins.review', { departmentId: rating.plugin.departmentId }))) {
    await recordPluginEvent(actor, 'review', { plugin: subject, outcome: 'denied', attributes: { hide: rating.id } });
    throw new UserInputError('hiding reviews needs plugins.review');
  }
  await db().pluginRating.update({ where: { id: rating.id }, data: { hidden } });
  await recordPluginEvent(actor, 'review', { plugin: subject, attributes: { [hidden ? 'hidden' : 'shown']: rating.id } });
}

export interface FileChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** Hook configuration, MCP configuration or a script: code that runs on laptops. */
  runsCode: boolean;
}

export interface QueueItem {
  versionId: string;
  name: string;
  version: string;
  previous: string | null;
  author: string;
  changelog: string;
  createdAt: Date;
  department: string | null;
  files: FileChange[];
  hooksAdded: PluginComponents['hooks'];
  mcpServersAdded: PluginComponents['mcpServers'];
  components: PluginComponents;
}

export interface InstallRequestItem {
  id: string;
  plugin: string;
  requester: string;
  reason: string;
  createdAt: Date;
}

function runsCode(path: string): boolean {
  return path === 'hooks/hooks.json' || path === '.mcp.json' || path.startsWith('hooks/') || path.startsWith('bin/') || /\.(sh|py|js|mjs|cjs|ts|rb|ps1|bat|cmd|exe)$/.test(path);
}

async function diffAgainst(versionId: string, previousId: string | null): Promise<FileChange[]> {
  const current = await fileListOf(versionId);
  const before = previousId ? await fileListOf(previousId) : [];
  const old = new Map(before.map((file) => [file.path, file.sha256]));
  const now = new Map(current.map((file) => [file.path, file.sha256]));
  const changes: FileChange[] = [];
  for (const file of current) {
    const previous = old.get(file.path);
    if (previous === undefined) changes.push({ path: file.path, change: 'added', runsCode: runsCode(file.path) });
    else if (previous !== file.sha256) changes.push({ path: file.path, change: 'changed', runsCode: runsCode(file.path) });
  }
  for (const file of before) if (!now.has(file.path)) changes.push({ path: file.path, change: 'removed', runsCode: runsCode(file.path) });
  return changes.sort((a, b) => Number(b.runsCode) - Number(a.runsCode) || a.path.localeCompare(b.path));
}

/** Pending versions and install requests the viewer may decide on (their plugins.review scope). */
export async function reviewQueue(viewer: PluginActor): Promise<{ versions: QueueItem[]; requests: InstallRequestItem[] }> {
  const scope = await permissionScope({ userId: viewer.userId, tenantId: viewer.tenantId }, 'plugins.review');
  if (!scope.tenantWide && scope.departmentIds.size === 0) return { versions: [], requests: [] };
  const inScope = scope.tenantWide ? {} : { departmentId: { in: [...scope.departmentIds] } };
  const pending = await db().pluginVersion.findMany({ where: { status: 'pending', plugin: { tenantId: viewer.tenantId, status: 'active', ...inScope } }, include: { plugin: { include: { versions: true } } }, orderBy: { createdAt: 'asc' } });
  const departments = await departmentSlugs(viewer.tenantId);
  const names = await userNames(pending.map((version) => version.authorId));
  const versions = await Promise.all(
    pending.map(async (version): Promise<QueueItem> => {
      const earlier = version.plugin.versions.filter((other) => other.id !== version.id && (other.status === 'approved' || other.status === 'withdrawn') && compareSemver(other.version, version.version) < 0);
      const previous = earlier.sort((a, b) => compareSemver(b.version, a.version))[0] ?? null;
      const components = componentsOf(version);
      const before = previous ? componentsOf(previous) : { hooks: [], mcpServers: [] };
      const hookKey = (hook: PluginComponents['hooks'][number]) => `${hook.event}|${hook.matcher}|${hook.run}`;
      const oldHooks = new Set(before.hooks.map(hookKey));
      const oldServers = new Set(before.mcpServers.map((server) => `${server.name}|${server.target}`));
      return {
        versionId: version.id,
        name: version.plugin.name,
        version: version.version,
        previous: previous?.version ?? null,
        author: names.get(version.authorId)?.email ?? 'unknown',
        changelog: version.changelog,
        createdAt: version.createdAt,
        department: version.plugin.departmentId ? (departments.get(version.plugin.departmentId) ?? null) : null,
        files: await diffAgainst(version.id, previous?.id ?? null),
        hooksAdded: components.hooks.filter((hook) => !oldHooks.has(hookKey(hook))),
        mcpServersAdded: components.mcpServers.filter((server) => !oldServers.has(`${server.name}|${server.target}`)),
        components,
      };
    }),
  );
  const requestRows = await db().pluginInstallRequest.findMany({ where: { status: 'pending', plugin: { tenantId: viewer.tenantId, ...inScope } }, include: { plugin: true }, orderBy: { createdAt: 'asc' } });
  const requesters = await userNames(requestRows.map((request) => request.userId));
  return {
    versions,
    requests: requestRows.map((request) => ({ id: request.id, plugin: request.plugin.name, requester: requesters.get(request.userId)?.email ?? 'unknown', reason: request.reason, createdAt: request.createdAt })),
  };
}

/** The viewer's own plugins, drafts included (the publish page lists them). */
export async function ownPlugins(viewer: PluginActor) {
  const plugins = await db().plugin.findMany({ where: { tenantId: viewer.tenantId, ownerId: viewer.userId }, include: { versions: { orderBy: { createdAt: 'desc' } } }, orderBy: { updatedAt: 'desc' } });
  return plugins.map((plugin) => ({ name: plugin.name, status: plugin.status, versions: plugin.versions.map((version) => ({ version: version.version, status: version.status, reviewComment: version.reviewComment })) }));
}
