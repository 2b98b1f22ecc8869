/**
 * Every query lib/skills makes. Nothing here checks permissions: the callers (service.ts,
 * visible.ts) decide who may ask what.
 */
import { db } from '@/lib/db/client';
import { Prisma, type SkillSharing } from '@/lib/generated/prisma/client';

export type { SkillSharing };

export interface SkillFileContent {
  /** Relative to the skill's folder, `/`-separated, e.g. `templates/report.md`. */
  path: string;
  content: Buffer;
}

const latestVersion = {
  versions: { orderBy: { version: 'desc' }, take: 1, include: { files: { orderBy: { path: 'asc' } } } },
  owner: { select: { email: true, name: true } },
  department: { select: { slug: true, name: true } },
} as const satisfies Prisma.SkillInclude;

export type SkillWithLatest = Prisma.SkillGetPayload<{ include: typeof latestVersion }>;

/** Thrown when a save was based on a version that is no longer the newest. */
export class StaleVersionError extends Error {
  override name = 'StaleVersionError';
}

/** Thrown when the owner already has a skill of that name (deleted ones included). */
export class DuplicateSkillNameError extends Error {
  override name = 'DuplicateSkillNameError';
  constructor(readonly skillName: string) {
    super(`a skill named "${skillName}" already exists`);
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

function toBytes(files: readonly SkillFileContent[]): { path: string; content: Uint8Array<ArrayBuffer> }[] {
  return files.map((file) => ({ path: file.path, content: new Uint8Array(file.content) }));
}

export async function userDepartmentId(tenantId: string, userId: string): Promise<string | null> {
  const user = await db().user.findFirst({ where: { id: userId, tenantId }, select: { departmentId: true } });
  return user?.departmentId ?? null;
}

/**
 * Skills a user can see, not deleted: their own, those shared with the organisation, and those
 * shared with the department they belong to.
 */
export async function findVisibleSkills(tenantId: string, userId: string, departmentId: string | null, name?: string): Promise<SkillWithLatest[]> {
  const shared: Prisma.SkillWhereInput[] = [{ sharing: 'organisation' }];
  if (departmentId) shared.push({ sharing: 'department', departmentId });
  return db().skill.findMany({
    where: { tenantId, deletedAt: null, ...(name ? { name } : {}), OR: [{ ownerId: userId }, ...shared] },
    include: latestVersion,
    orderBy: [{ name: 'asc' }, { createdAt: 'asc' }],
  });
}

export async function findOwnSkills(tenantId: string, ownerId: string, deleted: boolean): Promise<SkillWithLatest[]> {
  return db().skill.findMany({ where: { tenantId, ownerId, deletedAt: deleted ? { not: null } : null }, include: latestVersion, orderBy: { name: 'asc' } });
}

export async function findSkill(tenantId: string, skillId: string): Promise<SkillWithLatest | null> {
  return db().skill.findFirst({ where: { id: skillId, tenantId }, include: latestVersion });
}

export async function findOwnSkillByName(tenantId: string, ownerId: string, name: string): Promise<SkillWithLatest | null> {
  return db().skill.findFirst({ where: { tenantId, ownerId, name }, include: latestVersion });
}

export interface NewVersion {
  content: string;
  files: readonly SkillFileContent[];
  authorId: string;
  source: 'editor' | 'import' | 'cli' | 'restore';
  restoredFrom?: number;
}

type Transaction = Parameters<Parameters<ReturnType<typeof db>['$transaction']>[0]>[0];

/**
 * One version row and its files, written one statement at a time (a nested create makes the
 * pg adapter overlap queries on the transaction's connection).
 */
async function writeVersion(tx: Transaction, skillId: string, number: number, version: NewVersion): Promise<void> {
  const row = await tx.skillVersion.create({
    data: { skillId, version: number, content: version.content, authorId: version.authorId, source: version.source, restoredFrom: version.restoredFrom ?? null },
    select: { id: true },
  });
  if (version.files.length) await tx.skillFile.createMany({ data: toBytes(version.files).map((file) => ({ versionId: row.id, ...file })) });
}

export async function insertSkill(input: { tenantId: string; ownerId: string; name: string }, version: NewVersion): Promise<SkillWithLatest> {
  try {
    const skillId = await db().$transaction(async (tx) => {
      const skill = await tx.skill.create({ data: { tenantId: input.tenantId, ownerId: input.ownerId, name: input.name, latestVersion: 1 }, select: { id: true } });
      await writeVersion(tx, skill.id, 1, version);
      return skill.id;
    });
    // Read after commit: a read with relations inside the transaction overlaps queries on its connection.
    return await db().skill.findUniqueOrThrow({ where: { id: skillId }, include: latestVersion });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateSkillNameError(input.name);
    throw error;
  }
}

/**
 * Adds version `basedOn + 1`, only if `basedOn` is still the newest (two editors saving at once:
 * the second is told, not silently overwritten). A new name renames the skill in the same step;
 * `undelete` brings a deleted skill back with it (an import of a deleted skill's name).
 */
export async function appendVersion(skillId: string, basedOn: number, version: NewVersion, options: { name?: string; undelete?: boolean } = {}): Promise<SkillWithLatest> {
  try {
    await db().$transaction(async (tx) => {
      const moved = await tx.skill.updateMany({
        where: { id: skillId, latestVersion: basedOn },
        data: { latestVersion: basedOn + 1, ...(options.name ? { name: options.name } : {}), ...(options.undelete ? { deletedAt: null } : {}) },
      });
      if (moved.count !== 1) throw new StaleVersionError(`the skill changed since version ${basedOn}`);
      await writeVersion(tx, skillId, basedOn + 1, version);
    });
    return await db().skill.findUniqueOrThrow({ where: { id: skillId }, include: latestVersion });
  } catch (error) {
    if (isUniqueViolation(error) && options.name) throw new DuplicateSkillNameError(options.name);
    throw error;
  }
}

export async function updateSharing(skillId: string, sharing: SkillSharing, departmentId: string | null): Promise<void> {
  await db().skill.update({ where: { id: skillId }, data: { sharing, departmentId: sharing === 'department' ? departmentId : null } });
}

export async function setDeleted(skillId: string, deletedAt: Date | null): Promise<void> {
  await db().skill.update({ where: { id: skillId }, data: { deletedAt } });
}

export interface VersionSummary {
  id: string;
  version: number;
  source: string;
  restoredFrom: number | null;
  createdAt: Date;
  authorEmail: string | null;
  authorName: string | null;
}

export async function listVersions(skillId: string): Promise<VersionSummary[]> {
  const rows = await db().skillVersion.findMany({ where: { skillId }, orderBy: { version: 'desc' }, include: { author: { select: { email: true, name: true } } } });
  return rows.map((row) => ({ id: row.id, version: row.version, source: row.source, restoredFrom: row.restoredFrom, createdAt: row.createdAt, authorEmail: row.author?.email ?? null, authorName: row.author?.name ?? null }));
}

export async function findVersion(skillId: string, version: number) {
  return db().skillVersion.findUnique({ where: { skillId_version: { skillId, version } }, include: { files: { orderBy: { path: 'asc' } }, author: { select: { email: true, name: true } } } });
}

export async function departmentInTenant(tenantId: string, departmentId: string): Promise<{ id: string; name: string; slug: string } | null> {
  return db().department.findFirst({ where: { id: departmentId, tenantId }, select: { id: true, name: true, slug: true } });
}

export async function departmentBySlug(tenantId: string, slug: string): Promise<{ id: string; name: string; slug: string } | null> {
  return db().department.findFirst({ where: { slug, tenantId }, select: { id: true, name: true, slug: true } });
}

/** Skills shared with one department (for its plugin download). */
export async function findDepartmentSkills(tenantId: string, departmentId: string): Promise<SkillWithLatest[]> {
  return db().skill.findMany({ where: { tenantId, deletedAt: null, sharing: 'department', departmentId }, include: latestVersion, orderBy: [{ name: 'asc' }, { createdAt: 'asc' }] });
}

/** Removes skills deleted before `cutoff`, with their versions and files. Returns how many. */
export async function purgeSkillsDeletedBefore(cutoff: Date): Promise<number> {
  const result = await db().skill.deleteMany({ where: { deletedAt: { lt: cutoff } } });
  return result.count;
}
