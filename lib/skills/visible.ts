/**
 * What one user sees: the skills they may use (their own and those shared with them), each at
 * its newest version. The MCP server lists these as prompts, resources and through its tool.
 *
 * Names are unique per owner, not per tenant, so two skills a user sees may share a name. One of
 * them wins, so every name means exactly one skill for that user:
 *   1. their own skill;
 *   2. else one shared with their department;
 *   3. else one shared with the organisation;
 * and among equals the one created first (stable: a newer skill cannot take over a name people
 * already use).
 *
 * No permission check here: callers ask lib/rbac first (skills.read, with the token's roles).
 */
import { parseSkillMarkdown, type SkillArgument } from './frontmatter';
import { findVisibleSkills, userDepartmentId, type SkillFileContent, type SkillSharing, type SkillWithLatest } from './repository';

export interface SkillActorRef {
  tenantId: string;
  userId: string;
}

export interface VisibleSkill {
  /** The skill's id (stable across versions and renames). */
  id: string;
  name: string;
  description: string;
  arguments: SkillArgument[];
  argumentHint: string | null;
  /** As written: a list, or one string split on commas and spaces. */
  allowedTools: string[];
  model: string | null;
  tags: string[];
  license: string | null;
  disableModelInvocation: boolean;
  /** The Markdown after the frontmatter. */
  body: string;
  /** The whole SKILL.md as saved. */
  content: string;
  /** Newest version number (1, 2, …) and that version's id. */
  version: number;
  versionId: string;
  updatedAt: Date;
  ownerId: string;
  ownerEmail: string;
  ownerName: string;
  /** True when the viewer owns it. */
  own: boolean;
  sharing: SkillSharing;
  /** The department it is shared with (sharing = department). */
  departmentId: string | null;
  departmentName: string | null;
  /** Extra files of this version (templates, examples), SKILL.md itself not included. */
  files: SkillFileContent[];
}

function allowedTools(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : value.split(/[,\s]+/)).map((tool) => tool.trim()).filter(Boolean);
}

/** A stored skill as callers see it; null if its newest version no longer parses (logged). */
export function toVisibleSkill(row: SkillWithLatest, viewerId: string): VisibleSkill | null {
  const version = row.versions[0];
  if (!version) return null;
  const parsed = parseSkillMarkdown(version.content);
  if (!parsed.ok) {
    // Every version was validated when saved; this means the rules tightened since.
    console.error(`skills: skill ${row.id} version ${version.version} no longer validates: ${parsed.issues.map((issue) => issue.message).join('; ')}`);
    return null;
  }
  const { frontmatter, body, content } = parsed.skill;
  return {
    id: row.id,
    name: row.name,
    description: frontmatter.description,
    arguments: frontmatter.arguments ?? [],
    argumentHint: frontmatter['argument-hint'] ?? null,
    allowedTools: allowedTools(frontmatter['allowed-tools']),
    model: frontmatter.model ?? null,
    tags: frontmatter.tags ?? [],
    license: frontmatter.license ?? null,
    disableModelInvocation: frontmatter['disable-model-invocation'] ?? false,
    body,
    content,
    version: version.version,
    versionId: version.id,
    updatedAt: version.createdAt,
    ownerId: row.ownerId,
    ownerEmail: row.owner.email,
    ownerName: row.owner.name,
    own: row.ownerId === viewerId,
    sharing: row.sharing,
    departmentId: row.departmentId,
    departmentName: row.department?.name ?? null,
    files: version.files.map((file) => ({ path: file.path, content: Buffer.from(file.content) })),
  };
}

function precedence(skill: VisibleSkill): number {
  if (skill.own) return 0;
  return skill.sharing === 'department' ? 1 : 2;
}

/** One skill per name, by the rule above; rows arrive ordered by name, then creation. */
function winners(skills: VisibleSkill[]): VisibleSkill[] {
  const byName = new Map<string, VisibleSkill>();
  for (const skill of skills) {
    const current = byName.get(skill.name);
    if (!current || precedence(skill) < precedence(current)) byName.set(skill.name, skill);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

async function visible(actor: SkillActorRef, name?: string): Promise<VisibleSkill[]> {
  const departmentId = await userDepartmentId(actor.tenantId, actor.userId);
  const rows = await findVisibleSkills(actor.tenantId, actor.userId, departmentId, name);
  return rows.flatMap((row) => toVisibleSkill(row, actor.userId) ?? []);
}

/** Every skill the user may use, one per name (own wins), newest versions, sorted by name. */
export async function listVisibleSkills(actor: SkillActorRef): Promise<VisibleSkill[]> {
  return winners(await visible(actor));
}

/** The skill a name means for this user (own wins), or null. */
export async function getVisibleSkill(actor: SkillActorRef, name: string): Promise<VisibleSkill | null> {
  return winners(await visible(actor, name))[0] ?? null;
}

/** Every visible skill including those a same-named one hides (the dashboard's "Shared with me"). */
export async function listAllVisibleSkills(actor: SkillActorRef): Promise<VisibleSkill[]> {
  return visible(actor);
}
