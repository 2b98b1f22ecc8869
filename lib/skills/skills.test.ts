import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { ForbiddenError } from '@/lib/rbac';
import { ensureBuiltInRoles, UserInputError } from '@/lib/users/tenant';
import {
  createSkill,
  deleteSkill,
  getVisibleSkill,
  listOwnSkills,
  listSharedWithMe,
  listVisibleSkills,
  purgeDeletedSkills,
  renderSkill,
  restoreDeletedSkill,
  restoreSkillVersion,
  saveSkill,
  shareSkill,
  skillHistory,
  skillsChangesReady,
  SkillValidationError,
  subscribeSkillsChanged,
  type SkillActor,
  type SkillsChange,
} from './index';

let tenantId: string;
const roleIds: Record<string, string> = {};
let research: { id: string };
let finance: { id: string };

async function person(bindings: { role: string; departmentId?: string }[], departmentId: string | null): Promise<SkillActor> {
  const email = `skills-${randomUUID().slice(0, 8)}@example.test`;
  const user = await db().user.create({
    data: { tenantId, email, name: email, departmentId, roleBindings: { create: bindings.map((b) => ({ roleId: roleIds[b.role]!, departmentId: b.departmentId ?? null })) } },
  });
  return { userId: user.id, tenantId, email, roles: bindings.map((b) => b.role), callSource: 'dashboard' };
}

function skillMd(name: string, body = `Do the ${name} thing for $ARGUMENTS.`, description = `The ${name} skill.`): string {
  return `---\nname: ${name}\ndescription: ${description}\n---\n\n${body}\n`;
}

async function skillEvents(skillId: string) {
  const result = await pool().query<{ action: string; outcome: string }>(
    `SELECT action, outcome FROM audit_events WHERE tenant_id = $1 AND event_type = 'skill.change' AND event->'target'->>'id' = $2 ORDER BY seq`,
    [tenantId, skillId],
  );
  return result.rows.map((row) => `${row.action} ${row.outcome}`);
}

beforeAll(async () => {
  tenantId = (await db().tenant.create({ data: { slug: `skills-${randomUUID().slice(0, 8)}`, name: 'Skills tests' } })).id;
  await ensureBuiltInRoles(tenantId);
  for (const role of await db().role.findMany({ where: { tenantId } })) roleIds[role.name] = role.id;
  research = await db().department.create({ data: { tenantId, slug: 'research', name: 'Research' } });
  finance = await db().department.create({ data: { tenantId, slug: 'finance', name: 'Finance' } });
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('skills', () => {
  it('keeps a private skill to its owner; other users never list or fetch it', async () => {
    const ada = await person([{ role: 'member' }], research.id);
    const bob = await person([{ role: 'member' }], research.id);
    const skill = await createSkill(ada, { content: skillMd('secret-recipe'), files: [{ path: 'templates/a.md', content: Buffer.from('A') }] });
    expect(skill).toMatchObject({ name: 'secret-recipe', version: 1, own: true, sharing: 'private' });
    expect((await listVisibleSkills(ada)).map((s) => s.name)).toEqual(['secret-recipe']);
    expect((await getVisibleSkill(ada, 'secret-recipe'))?.files.map((f) => [f.path, f.content.toString()])).toEqual([['templates/a.md', 'A']]);
    expect(await listVisibleSkills(bob)).toEqual([]);
    expect(await getVisibleSkill(bob, 'secret-recipe')).toBeNull();
    expect(await listSharedWithMe(bob)).toEqual([]);
    // Another user cannot change it either; the refusal reads like "not found".
    await expect(saveSkill(bob, skill.id, { content: skillMd('secret-recipe', 'mine now'), baseVersion: 1 })).rejects.toThrow(UserInputError);
    expect(await skillEvents(skill.id)).toEqual(['skill.create success', 'skill.edit denied']);
  });

  it('refuses an invalid SKILL.md with line-numbered issues and a duplicate name', async () => {
    const ada = await person([{ role: 'member' }], null);
    const error = await createSkill(ada, { content: '---\nname: Bad Name\ndescription: x\n---\nbody\n' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SkillValidationError);
    expect((error as SkillValidationError).issues[0]).toMatchObject({ line: 2, severity: 'error' });
    await createSkill(ada, { content: skillMd('twice') });
    await expect(createSkill(ada, { content: skillMd('twice') })).rejects.toThrow('you already have a skill named "twice"');
    await expect(createSkill(ada, { content: skillMd('bad-file'), files: [{ path: '../etc/passwd', content: Buffer.from('x') }] })).rejects.toThrow(/not a usable file name/);
  });

  it('shares with a department or the organisation only with plugins.publish there, audited either way', async () => {
    const member = await person([{ role: 'member' }], research.id);
    const author = await person([{ role: 'member' }, { role: 'author', departmentId: research.id }], research.id);
    const colleague = await person([{ role: 'member' }], research.id);
    const outsider = await person([{ role: 'member' }], finance.id);

    const mine = await createSkill(member, { content: skillMd('member-skill') });
    await expect(shareSkill(member, mine.id, { sharing: 'department', departmentId: research.id })).rejects.toThrow(ForbiddenError);
    expect(await skillEvents(mine.id)).toEqual(['skill.create success', 'skill.share denied']);

    const theirs = await createSkill(author, { content: skillMd('team-review', 'Review $target', 'Reviews.') });
    await expect(shareSkill(author, theirs.id, { sharing: 'department', departmentId: finance.id })).rejects.toThrow(ForbiddenError);
    await expect(shareSkill(author, theirs.id, { sharing: 'organisation' })).rejects.toThrow(ForbiddenError);
    const shared = await shareSkill(author, theirs.id, { sharing: 'department', departmentId: research.id });
    expect(shared).toMatchObject({ sharing: 'department', departmentName: 'Research' });

    expect((await getVisibleSkill(colleague, 'team-review'))).toMatchObject({ own: false, ownerEmail: author.email, version: 1 });
    expect((await listSharedWithMe(colleague)).map((s) => s.name)).toContain('team-review');
    expect(await getVisibleSkill(outsider, 'team-review')).toBeNull();
    expect(await skillEvents(theirs.id)).toEqual(['skill.create success', 'skill.share denied', 'skill.share denied', 'skill.share success']);
    await expect(deleteSkill(colleague, theirs.id)).rejects.toThrow(UserInputError);
    expect((await skillEvents(theirs.id)).at(-1)).toBe('skill.delete denied');

    const admin = await person([{ role: 'admin' }], null);
    const everyone = await createSkill(admin, { content: skillMd('org-wide') });
    await shareSkill(admin, everyone.id, { sharing: 'organisation' });
    expect(await getVisibleSkill(outsider, 'org-wide')).toMatchObject({ sharing: 'organisation' });
  });

  it('resolves a name collision in favour of the user’s own skill, then department before organisation', async () => {
    const admin = await person([{ role: 'admin' }], null);
    const user = await person([{ role: 'member' }], research.id);
    const orgCopy = await createSkill(admin, { content: skillMd('standup', 'org version') });
    await shareSkill(admin, orgCopy.id, { sharing: 'organisation' });
    const deptCopy = await createSkill(await person([{ role: 'admin' }], null), { content: skillMd('standup', 'department version') });
    expect(deptCopy.name).toBe('standup');
    await shareSkill({ ...admin, userId: deptCopy.ownerId, email: deptCopy.ownerEmail }, deptCopy.id, { sharing: 'department', departmentId: research.id });
    expect((await getVisibleSkill(user, 'standup'))?.body).toBe('department version\n');

    await createSkill(user, { content: skillMd('standup', 'my version') });
    const listed = (await listVisibleSkills(user)).filter((s) => s.name === 'standup');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ own: true, body: 'my version\n' });
    expect((await getVisibleSkill(user, 'standup'))?.own).toBe(true);
  });

  it('saves immutable versions, refuses a stale save, restores an old version as a new one, and publishes each change', async () => {
    const ada = await person([{ role: 'member' }], null);
    const changes: SkillsChange[] = [];
    const unsubscribe = subscribeSkillsChanged((change) => changes.push(change));
    // Signals travel through PostgreSQL NOTIFY: listening first, then they arrive shortly after each change.
    await skillsChangesReady();
    try {
      const created = await createSkill(ada, { content: skillMd('drafts', 'first') });
      const second = await saveSkill(ada, created.id, { content: skillMd('drafts', 'second'), baseVersion: 1 });
      expect(second).toMatchObject({ changed: true, skill: { version: 2, body: 'second\n' } });
      expect((await saveSkill(ada, created.id, { content: skillMd('drafts', 'second'), baseVersion: 2 })).changed).toBe(false);
      await expect(saveSkill(ada, created.id, { content: skillMd('drafts', 'lost update'), baseVersion: 1 })).rejects.toThrow(/saved by someone else since version 1/);
      const restored = await restoreSkillVersion(ada, created.id, 1);
      expect(restored).toMatchObject({ version: 3, body: 'first\n' });
      const history = await skillHistory(ada, created.id);
      expect(history.map((v) => [v.version, v.source, v.restoredFrom, v.authorEmail])).toEqual([
        [3, 'restore', 1, ada.email],
        [2, 'editor', null, ada.email],
        [1, 'editor', null, ada.email],
      ]);
      // Rename through the frontmatter.
      const renamed = await saveSkill(ada, created.id, { content: skillMd('drafts-v2', 'first'), baseVersion: 3 });
      expect(renamed.skill.name).toBe('drafts-v2');
      await vi.waitFor(() => expect(changes.filter((change) => change.skillId === created.id)).toHaveLength(4), { timeout: 20_000 });
      expect(changes.filter((change) => change.skillId === created.id).every((change) => change.tenantId === tenantId && change.ownerId === ada.userId)).toBe(true);
      expect(await skillEvents(created.id)).toEqual(['skill.create success', 'skill.edit success', 'skill.version_restore success', 'skill.edit success']);
      expect(renderSkill((await getVisibleSkill(ada, 'drafts-v2'))!, { arguments: 'x' })).toBe('first\n\nARGUMENTS: x\n');
    } finally {
      unsubscribe();
    }
  });

  it('never lets the application change a stored version', async () => {
    const ada = await person([{ role: 'member' }], null);
    const created = await createSkill(ada, { content: skillMd('fixed') });
    await expect(pool().query(`UPDATE skill_versions SET content = 'changed' WHERE skill_id = $1`, [created.id])).rejects.toThrow(/permission denied/);
    await expect(pool().query(`DELETE FROM skill_versions WHERE skill_id = $1`, [created.id])).rejects.toThrow(/permission denied/);
  });

  it('soft-deletes: hidden from everyone, restorable by the owner for 30 days, then purged', async () => {
    const admin = await person([{ role: 'admin' }], null);
    const viewer = await person([{ role: 'member' }], finance.id);
    const skill = await createSkill(admin, { content: skillMd('short-lived') });
    await shareSkill(admin, skill.id, { sharing: 'organisation' });
    await deleteSkill(admin, skill.id);
    expect(await getVisibleSkill(viewer, 'short-lived')).toBeNull();
    expect(await getVisibleSkill(admin, 'short-lived')).toBeNull();
    expect((await listOwnSkills(admin, { deleted: true })).map((s) => s.name)).toEqual(['short-lived']);
    await expect(createSkill(admin, { content: skillMd('short-lived') })).rejects.toThrow(/you deleted a skill named "short-lived"/);
    await expect(restoreDeletedSkill(viewer, skill.id)).rejects.toThrow(UserInputError);
    await expect(restoreDeletedSkill(admin, skill.id, new Date(Date.now() + 31 * 86_400_000))).rejects.toThrow(/more than 30 days ago/);
    await restoreDeletedSkill(admin, skill.id);
    expect(await getVisibleSkill(viewer, 'short-lived')).toMatchObject({ version: 1 });

    await deleteSkill(admin, skill.id);
    expect(await purgeDeletedSkills(new Date(Date.now() + 29 * 86_400_000))).toBe(0);
    expect(await purgeDeletedSkills(new Date(Date.now() + 31 * 86_400_000))).toBeGreaterThanOrEqual(1);
    expect(await db().skill.findUnique({ where: { id: skill.id } })).toBeNull();
    expect(await db().skillVersion.count({ where: { skillId: skill.id } })).toBe(0);
    expect(await skillEvents(skill.id)).toEqual(['skill.create success', 'skill.share success', 'skill.delete success', 'skill.restore denied', 'skill.restore success', 'skill.delete success']);
  });
});
