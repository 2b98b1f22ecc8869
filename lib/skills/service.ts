/**
 * What a person does with their skills: create, edit, share, delete, restore. Every function
 * checks lib/rbac itself, records a `skill.change` audit event (refusals too) and publishes a
 * change signal after the write, so it holds whoever calls it (dashboard, CLI).
 *
 * Permissions: reading needs skills.read, changing one's own skills skills.write (for the user's
 * department). Sharing is publishing for others, as the author role describes it: sharing with a
 * department needs plugins.publish for that department, with the organisation plugins.publish
 * tenant-wide. Only the owner changes a skill; others see shared skills read-only.
 */
import { appendAuditEvent, type AuditOutcome } from '@/lib/audit';
import { authorize } from '@/lib/rbac/authorize';
import { ForbiddenError } from '@/lib/rbac/errors';
import type { Permission } from '@/lib/rbac/permissions';
import { UserInputError } from '@/lib/users/tenant';
import { findUserWithRoles, userProfile } from '@/lib/users/with-roles';
import { publishSkillsChanged } from './changes';
import { checkSkillFiles, sameSkillFiles } from './files';
import { describeSkillIssues, parseSkillMarkdown, type ParsedSkill, type SkillIssue } from './frontmatter';
import * as repository from './repository';
import type { SkillFileContent, SkillSharing, SkillWithLatest, VersionSummary } from './repository';
import { listAllVisibleSkills, toVisibleSkill, type VisibleSkill } from './visible';

/** A deleted skill can be restored by its owner for this long, then housekeeping purges it. */
export const SKILL_RESTORE_DAYS = 30;
const RESTORE_MS = SKILL_RESTORE_DAYS * 24 * 60 * 60 * 1000;

/** The person acting on their own skills, and where the request came from (for the audit trail). */
export interface SkillActor {
  tenantId: string;
  userId: string;
  email: string;
  /** Role labels at the time, for the audit trail only. */
  roles: string[];
  callSource: 'dashboard' | 'cli';
}

/** The active user with this email as a SkillActor (the CLI acts as the user it names). */
export async function skillActorByEmail(email: string, callSource: SkillActor['callSource']): Promise<SkillActor> {
  const user = await findUserWithRoles({ email: email.trim().toLowerCase(), status: 'active' });
  if (!user) throw new UserInputError(`no active user with email ${email}`);
  const profile = userProfile(user);
  return { tenantId: profile.tenantId, userId: profile.id, email: profile.email, roles: profile.roles, callSource };
}

/** A SKILL.md that does not validate: the issues carry the line each points at. */
export class SkillValidationError extends UserInputError {
  override name = 'SkillValidationError';
  constructor(readonly issues: SkillIssue[], readonly skillName: string | null = null) {
    super(`${skillName ? `skill "${skillName}": ` : ''}${describeSkillIssues(issues).join('; ') || 'SKILL.md does not validate'}`);
  }
}

/** One of the actor's own skills, deleted or not. */
export interface OwnSkill extends VisibleSkill {
  createdAt: Date;
  deletedAt: Date | null;
  /** For a deleted skill: the last moment it can be restored. */
  restorableUntil: Date | null;
}

type SkillTarget = { id?: string; name?: string };

async function recordSkillChange(actor: SkillActor, action: string, target: SkillTarget | undefined, attributes: Record<string, string | number | boolean> = {}, outcome: AuditOutcome = 'success'): Promise<void> {
  await appendAuditEvent({
    tenant_id: actor.tenantId,
    event_type: 'skill.change',
    action,
    outcome,
    actor: { user_id: actor.userId, email: actor.email, roles: actor.roles },
    call_source: actor.callSource,
    ...(target ? { target: { type: 'skill', ...target } } : {}),
    attributes,
  });
}

/** Checks a permission; a refusal is audited before it is thrown. */
async function requireSkillPermission(actor: SkillActor, permission: Permission, departmentId: string | null, action: string, target?: SkillTarget): Promise<void> {
  if (await authorize({ userId: actor.userId, tenantId: actor.tenantId }, permission, departmentId ? { departmentId } : undefined)) return;
  await recordSkillChange(actor, action, target, { permission, ...(departmentId ? { department_id: departmentId } : {}) }, 'denied');
  throw new ForbiddenError(permission, departmentId);
}

/** skills.read / skills.write are checked for the actor's own department (tenant-wide bindings cover it). */
async function requireOwnSkills(actor: SkillActor, permission: 'skills.read' | 'skills.write', action: string, target?: SkillTarget): Promise<void> {
  const departmentId = await repository.userDepartmentId(actor.tenantId, actor.userId);
  await requireSkillPermission(actor, permission, departmentId, action, target);
}

function changed(actor: SkillActor, skillId: string): void {
  publishSkillsChanged({ tenantId: actor.tenantId, skillId, ownerId: actor.userId });
}

function toOwnSkill(row: SkillWithLatest, viewerId: string): OwnSkill | null {
  const visible = toVisibleSkill(row, viewerId);
  if (!visible) return null;
  return { ...visible, createdAt: row.createdAt, deletedAt: row.deletedAt, restorableUntil: row.deletedAt ? new Date(row.deletedAt.getTime() + RESTORE_MS) : null };
}

function ownSkillOrThrow(row: SkillWithLatest, viewerId: string): OwnSkill {
  const skill = toOwnSkill(row, viewerId);
  if (!skill) throw new UserInputError(`skill "${row.name}" could not be read; see the server log`);
  return skill;
}

/** Parses a SKILL.md for saving; throws SkillValidationError with line-numbered issues. */
export function validateSkillMarkdown(content: string): ParsedSkill {
  const parsed = parseSkillMarkdown(content);
  if (!parsed.ok) throw new SkillValidationError(parsed.issues);
  return parsed.skill;
}

/** The actor's own skill by id; not found (or someone else's) reads the same. */
async function ownedSkill(actor: SkillActor, skillId: string, action: string): Promise<SkillWithLatest> {
  const row = await repository.findSkill(actor.tenantId, skillId);
  // Someone else's skill: refused (and recorded) exactly like a missing one, so ids reveal nothing.
  if (row && row.ownerId !== actor.userId) await recordSkillChange(actor, action, { id: row.id }, { reason: 'not_owner' }, 'denied');
  if (!row || row.ownerId !== actor.userId) throw new UserInputError('that skill does not exist (any more), or it is not yours');
  return row;
}

function liveSkill(row: SkillWithLatest): SkillWithLatest {
  if (row.deletedAt) throw new UserInputError(`skill "${row.name}" is deleted; restore it first`);
  return row;
}

function nameTakenMessage(existing: SkillWithLatest): string {
  return existing.deletedAt
    ? `you deleted a skill named "${existing.name}"; restore it from the deleted skills, or pick another name`
    : `you already have a skill named "${existing.name}"`;
}

export async function listOwnSkills(actor: SkillActor, options: { deleted?: boolean } = {}): Promise<OwnSkill[]> {
  await requireOwnSkills(actor, 'skills.read', 'skill.list');
  const rows = await repository.findOwnSkills(actor.tenantId, actor.userId, options.deleted ?? false);
  return rows.flatMap((row) => toOwnSkill(row, actor.userId) ?? []);
}

/** Skills others shared with the actor (organisation, or their department), newest versions. */
export async function listSharedWithMe(actor: SkillActor): Promise<VisibleSkill[]> {
  await requireOwnSkills(actor, 'skills.read', 'skill.list');
  return (await listAllVisibleSkills(actor)).filter((skill) => !skill.own);
}

export async function getOwnSkill(actor: SkillActor, skillId: string): Promise<OwnSkill> {
  await requireOwnSkills(actor, 'skills.read', 'skill.read', { id: skillId });
  return ownSkillOrThrow(await ownedSkill(actor, skillId, 'skill.read'), actor.userId);
}

/** A skill the actor may see (own or shared with them), by id; null when they may not. */
export async function getViewableSkill(actor: SkillActor, skillId: string): Promise<VisibleSkill | null> {
  await requireOwnSkills(actor, 'skills.read', 'skill.read', { id: skillId });
  return (await listAllVisibleSkills(actor)).find((skill) => skill.id === skillId) ?? null;
}

export interface SkillInput {
  content: string;
  files?: readonly SkillFileContent[];
}

export async function createSkill(actor: SkillActor, input: SkillInput, source: 'editor' | 'import' | 'cli' = 'editor'): Promise<OwnSkill> {
  const parsed = validateSkillMarkdown(input.content);
  const name = parsed.frontmatter.name;
  await requireOwnSkills(actor, 'skills.write', 'skill.create', { name });
  const files = checkSkillFiles(name, input.files ?? []);
  const existing = await repository.findOwnSkillByName(actor.tenantId, actor.userId, name);
  if (existing) throw new UserInputError(nameTakenMessage(existing));
  const row = await insertOrExplain(actor, name, { content: parsed.content, files, authorId: actor.userId, source });
  await recordSkillChange(actor, source === 'editor' ? 'skill.create' : 'skill.import', { id: row.id, name }, { version: 1, files: files.length });
  changed(actor, row.id);
  return ownSkillOrThrow(row, actor.userId);
}

async function insertOrExplain(actor: SkillActor, name: string, version: repository.NewVersion): Promise<SkillWithLatest> {
  try {
    return await repository.insertSkill({ tenantId: actor.tenantId, ownerId: actor.userId, name }, version);
  } catch (error) {
    if (error instanceof repository.DuplicateSkillNameError) throw new UserInputError(`you already have a skill named "${name}"`);
    throw error;
  }
}

export interface SaveResult {
  skill: OwnSkill;
  /** False when nothing differed from the newest version (no version was added). */
  changed: boolean;
}

/**
 * Saves a new version of the actor's skill. `baseVersion` is the version the editor started
 * from: if someone saved since, the save is refused rather than overwriting their version.
 * Files left out keep the previous version's files. A changed `name:` renames the skill.
 */
export async function saveSkill(actor: SkillActor, skillId: string, input: SkillInput & { baseVersion: number }, source: 'editor' | 'import' | 'cli' = 'editor'): Promise<SaveResult> {
  const parsed = validateSkillMarkdown(input.content);
  const row = liveSkill(await ownedSkill(actor, skillId, 'skill.edit'));
  await requireOwnSkills(actor, 'skills.write', 'skill.edit', { id: row.id, name: row.name });
  return appendTo(actor, row, parsed, input, source, {});
}

async function appendTo(
  actor: SkillActor,
  row: SkillWithLatest,
  parsed: ParsedSkill,
  input: SkillInput & { baseVersion: number },
  source: repository.NewVersion['source'],
  options: { undelete?: boolean; restoredFrom?: number },
): Promise<SaveResult> {
  const name = parsed.frontmatter.name;
  const current = row.versions[0];
  const previousFiles = (current?.files ?? []).map((file) => ({ path: file.path, content: Buffer.from(file.content) }));
  const files = input.files ? checkSkillFiles(name, input.files) : previousFiles;
  if (!options.undelete && current && current.content === parsed.content && sameSkillFiles(files, previousFiles) && name === row.name) {
    return { skill: ownSkillOrThrow(row, actor.userId), changed: false };
  }
  if (name !== row.name) {
    const clash = await repository.findOwnSkillByName(actor.tenantId, actor.userId, name);
    if (clash) throw new SkillValidationError([{ line: nameLine(parsed.content), severity: 'error', message: `renaming to "${name}": ${nameTakenMessage(clash)}` }]);
  }
  let saved: SkillWithLatest;
  try {
    saved = await repository.appendVersion(row.id, input.baseVersion, { content: parsed.content, files, authorId: actor.userId, source, restoredFrom: options.restoredFrom }, { name: name !== row.name ? name : undefined, undelete: options.undelete });
  } catch (error) {
    if (error instanceof repository.StaleVersionError) throw new UserInputError(`skill "${row.name}" was saved by someone else since version ${input.baseVersion} (now version ${row.latestVersion} or later); reload it and apply your change again`);
    if (error instanceof repository.DuplicateSkillNameError) throw new UserInputError(`you already have a skill named "${name}"`);
    throw error;
  }
  const action = options.restoredFrom !== undefined ? 'skill.version_restore' : source === 'editor' ? 'skill.edit' : 'skill.import';
  await recordSkillChange(actor, action, { id: row.id, name }, {
    version: saved.latestVersion,
    files: files.length,
    ...(name !== row.name ? { renamed_from: row.name } : {}),
    ...(options.restoredFrom !== undefined ? { restored_from: options.restoredFrom } : {}),
    ...(options.undelete ? { undeleted: true } : {}),
  });
  changed(actor, row.id);
  return { skill: ownSkillOrThrow(saved, actor.userId), changed: true };
}

function nameLine(content: string): number {
  const index = content.split('\n').findIndex((line) => /^name\s*:/.test(line));
  return index < 0 ? 1 : index + 1;
}

/**
 * Import of one SKILL.md (and files) into the actor's skills: a new skill, or a new version of
 * the skill of that name (a deleted one is brought back), or nothing when identical.
 */
export async function importSkill(actor: SkillActor, parsed: ParsedSkill, files: readonly SkillFileContent[], source: 'import' | 'cli'): Promise<{ skill: OwnSkill; outcome: 'created' | 'updated' | 'restored' | 'unchanged' }> {
  const name = parsed.frontmatter.name;
  const existing = await repository.findOwnSkillByName(actor.tenantId, actor.userId, name);
  if (!existing) return { skill: await createSkill(actor, { content: parsed.content, files }, source), outcome: 'created' };
  await requireOwnSkills(actor, 'skills.write', 'skill.import', { id: existing.id, name });
  const undelete = existing.deletedAt !== null;
  const result = await appendTo(actor, existing, parsed, { content: parsed.content, files, baseVersion: existing.latestVersion }, source, { undelete });
  return { skill: result.skill, outcome: undelete ? 'restored' : result.changed ? 'updated' : 'unchanged' };
}

/** Makes an old version the newest again (as a new version: history is never rewritten). */
export async function restoreSkillVersion(actor: SkillActor, skillId: string, version: number): Promise<OwnSkill> {
  const row = liveSkill(await ownedSkill(actor, skillId, 'skill.version_restore'));
  await requireOwnSkills(actor, 'skills.write', 'skill.version_restore', { id: row.id, name: row.name });
  const old = await repository.findVersion(row.id, version);
  if (!old) throw new UserInputError(`skill "${row.name}" has no version ${version}`);
  const parsed = validateSkillMarkdown(old.content);
  const files = old.files.map((file) => ({ path: file.path, content: Buffer.from(file.content) }));
  const result = await appendTo(actor, row, parsed, { content: old.content, files, baseVersion: row.latestVersion }, 'restore', { restoredFrom: version });
  return result.skill;
}

export interface SharingChange {
  sharing: SkillSharing;
  /** Required when sharing = department. */
  departmentId?: string | null;
}

export async function shareSkill(actor: SkillActor, skillId: string, change: SharingChange): Promise<OwnSkill> {
  const row = liveSkill(await ownedSkill(actor, skillId, 'skill.share'));
  const target = { id: row.id, name: row.name };
  await requireOwnSkills(actor, 'skills.write', 'skill.share', target);
  let departmentId: string | null = null;
  let departmentLabel = '';
  if (change.sharing === 'department') {
    const department = change.departmentId ? await repository.departmentInTenant(actor.tenantId, change.departmentId) : null;
    if (!department) throw new UserInputError('choose the department to share the skill with');
    await requireSkillPermission(actor, 'plugins.publish', department.id, 'skill.share', target);
    departmentId = department.id;
    departmentLabel = department.slug;
  } else if (change.sharing === 'organisation') {
    await requireSkillPermission(actor, 'plugins.publish', null, 'skill.share', target);
  }
  if (row.sharing === change.sharing && row.departmentId === departmentId) return ownSkillOrThrow(row, actor.userId);
  await repository.updateSharing(row.id, change.sharing, departmentId);
  await recordSkillChange(actor, 'skill.share', target, {
    sharing: change.sharing,
    sharing_from: row.sharing,
    ...(departmentLabel ? { department: departmentLabel } : {}),
  });
  changed(actor, row.id);
  return ownSkillOrThrow(await ownedSkill(actor, skillId, 'skill.share'), actor.userId);
}

/** Soft delete: gone for everyone at once, restorable by the owner for SKILL_RESTORE_DAYS. */
export async function deleteSkill(actor: SkillActor, skillId: string): Promise<void> {
  const row = await ownedSkill(actor, skillId, 'skill.delete');
  await requireOwnSkills(actor, 'skills.write', 'skill.delete', { id: row.id, name: row.name });
  if (row.deletedAt) return;
  await repository.setDeleted(row.id, new Date());
  await recordSkillChange(actor, 'skill.delete', { id: row.id, name: row.name }, { version: row.latestVersion, sharing: row.sharing });
  changed(actor, row.id);
}

export async function restoreDeletedSkill(actor: SkillActor, skillId: string, now = new Date()): Promise<OwnSkill> {
  const row = await ownedSkill(actor, skillId, 'skill.restore');
  await requireOwnSkills(actor, 'skills.write', 'skill.restore', { id: row.id, name: row.name });
  if (!row.deletedAt) return ownSkillOrThrow(row, actor.userId);
  if (now.getTime() - row.deletedAt.getTime() > RESTORE_MS) throw new UserInputError(`skill "${row.name}" was deleted more than ${SKILL_RESTORE_DAYS} days ago and can no longer be restored`);
  await repository.setDeleted(row.id, null);
  await recordSkillChange(actor, 'skill.restore', { id: row.id, name: row.name }, { version: row.latestVersion });
  changed(actor, row.id);
  return ownSkillOrThrow(await ownedSkill(actor, skillId, 'skill.restore'), actor.userId);
}

export async function skillHistory(actor: SkillActor, skillId: string): Promise<VersionSummary[]> {
  const row = await ownedSkill(actor, skillId, 'skill.read');
  await requireOwnSkills(actor, 'skills.read', 'skill.read', { id: row.id, name: row.name });
  return repository.listVersions(row.id);
}

export interface SkillVersionDetail extends VersionSummary {
  content: string;
  files: SkillFileContent[];
}

export async function skillVersion(actor: SkillActor, skillId: string, version: number): Promise<SkillVersionDetail> {
  const row = await ownedSkill(actor, skillId, 'skill.read');
  await requireOwnSkills(actor, 'skills.read', 'skill.read', { id: row.id, name: row.name });
  const found = await repository.findVersion(row.id, version);
  if (!found) throw new UserInputError(`skill "${row.name}" has no version ${version}`);
  return {
    id: found.id,
    version: found.version,
    source: found.source,
    restoredFrom: found.restoredFrom,
    createdAt: found.createdAt,
    authorEmail: found.author?.email ?? null,
    authorName: found.author?.name ?? null,
    content: found.content,
    files: found.files.map((file) => ({ path: file.path, content: Buffer.from(file.content) })),
  };
}

/** Housekeeping: skills deleted more than SKILL_RESTORE_DAYS ago are removed for good. */
export async function purgeDeletedSkills(now = new Date()): Promise<number> {
  return repository.purgeSkillsDeletedBefore(new Date(now.getTime() - RESTORE_MS));
}

export { recordSkillChange, requireOwnSkills, requireSkillPermission };
