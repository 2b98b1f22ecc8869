import { db } from '@/lib/db/client';
import type { Prisma, PluginVersion } from '@/lib/generated/prisma/client';
import { pluginArchive, sha256Hex, treeDigest } from './digest';
import type { PluginFile } from './paths';
import { compareSemver } from './semver';
import type { PluginComponents, ValidatedPlugin } from './validate';

/** The org-plugins repository: every query of the capability's tables goes through here. */

export type Tx = Prisma.TransactionClient;

/** Bumps the tenant's catalogue sequence (inside the change's transaction) and returns it. */
export async function bumpSequence(tx: Tx, tenantId: string): Promise<bigint> {
  const row = await tx.pluginCatalogState.upsert({
    where: { tenantId },
    create: { tenantId, sequence: 1n },
    update: { sequence: { increment: 1n }, updatedAt: new Date() },
  });
  return row.sequence;
}

export async function currentSequence(tenantId: string): Promise<bigint> {
  const row = await db().pluginCatalogState.findUnique({ where: { tenantId } });
  return row?.sequence ?? 0n;
}

/** Stores a validated file tree (blobs deduplicated) as a new pending version. */
export async function insertVersion(
  tx: Tx,
  input: { pluginId: string; plugin: ValidatedPlugin; authorId: string; changelog: string },
): Promise<PluginVersion> {
  const { files, manifest, components, readme } = input.plugin;
  const hashed = files.map((file) => ({ ...file, sha256: sha256Hex(file.content) }));
  await tx.pluginBlob.createMany({
    data: hashed.map((file) => ({ sha256: file.sha256, content: new Uint8Array(file.content), size: file.content.length })),
    skipDuplicates: true,
  });
  const version = await tx.pluginVersion.create({
    data: {
      pluginId: input.pluginId,
      version: manifest.version,
      digest: treeDigest(files),
      archiveSha256: sha256Hex(pluginArchive(files)),
      manifest: manifest as object,
      components: components as unknown as object,
      readme,
      changelog: input.changelog,
      authorId: input.authorId,
    },
  });
  await tx.pluginVersionFile.createMany({ data: hashed.map((file) => ({ versionId: version.id, path: file.path, sha256: file.sha256, size: file.content.length })) });
  return version;
}

/** A version's files with their contents, sorted by path. */
export async function versionFiles(versionId: string): Promise<PluginFile[]> {
  const rows = await db().pluginVersionFile.findMany({ where: { versionId }, orderBy: { path: 'asc' } });
  const blobs = await db().pluginBlob.findMany({ where: { sha256: { in: [...new Set(rows.map((row) => row.sha256))] } } });
  const contents = new Map(blobs.map((blob) => [blob.sha256, Buffer.from(blob.content)]));
  return rows.map((row) => {
    const content = contents.get(row.sha256);
    if (!content || sha256Hex(content) !== row.sha256) throw new Error(`plugin file ${row.path} of version ${versionId}: stored content does not match its hash`);
    return { path: row.path, content };
  });
}

export function fileListOf(versionId: string) {
  return db().pluginVersionFile.findMany({ where: { versionId }, orderBy: { path: 'asc' }, select: { path: true, sha256: true, size: true } });
}

export function componentsOf(version: { components: unknown }): PluginComponents {
  return version.components as PluginComponents;
}

/** The newest approved version by semver, or null. */
export function latestApproved<T extends { version: string; status: string }>(versions: readonly T[]): T | null {
  const approved = versions.filter((version) => version.status === 'approved');
  approved.sort((a, b) => compareSemver(b.version, a.version));
  return approved[0] ?? null;
}

export function pluginByName(tenantId: string, name: string) {
  return db().plugin.findUnique({ where: { tenantId_name: { tenantId, name } } });
}

export function versionById(tenantId: string, versionId: string) {
  return db().pluginVersion.findFirst({ where: { id: versionId, plugin: { tenantId } }, include: { plugin: true } });
}

export function versionByName(tenantId: string, name: string, version: string) {
  return db().pluginVersion.findFirst({ where: { version, plugin: { tenantId, name } }, include: { plugin: true } });
}

/** Email and name of users, by id, for display. */
export async function userNames(ids: readonly string[]): Promise<Map<string, { email: string; name: string }>> {
  const users = await db().user.findMany({ where: { id: { in: [...new Set(ids)] } }, select: { id: true, email: true, name: true } });
  return new Map(users.map((user) => [user.id, { email: user.email, name: user.name }]));
}
