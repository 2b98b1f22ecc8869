import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { pluginFromZip } from '@/lib/plugins/upload';
import { readZip, writeZip } from '@/lib/plugins/zip';
import { ForbiddenError } from '@/lib/rbac';
import { ensureBuiltInRoles } from '@/lib/users/tenant';
import {
  bundlesFromFolder,
  bundlesFromUpload,
  createSkill,
  deleteSkill,
  departmentSkillsPlugin,
  exportOwnSkills,
  importSkillBundles,
  listOwnSkills,
  ownSkillsPlugin,
  saveSkill,
  shareSkill,
  SkillImportError,
  type SkillActor,
} from './index';

let tenantId: string;
const roleIds: Record<string, string> = {};
let research: { id: string; slug: string };

async function person(bindings: { role: string; departmentId?: string }[], departmentId: string | null): Promise<SkillActor> {
  const email = `archive-${randomUUID().slice(0, 8)}@example.test`;
  const user = await db().user.create({
    data: { tenantId, email, name: `Person ${email}`, departmentId, roleBindings: { create: bindings.map((b) => ({ roleId: roleIds[b.role]!, departmentId: b.departmentId ?? null })) } },
  });
  return { userId: user.id, tenantId, email, roles: bindings.map((b) => b.role), callSource: 'cli' };
}

const md = (name: string, body: string, extra = '') => `---\nname: ${name}\ndescription: About ${name}.\n${extra}---\n\n${body}\n`;

/** What makes two sets of skills "the same": names, SKILL.md text, extra files byte for byte. */
async function snapshot(actor: SkillActor) {
  return (await listOwnSkills(actor)).map((skill) => ({ name: skill.name, content: skill.content, files: skill.files.map((file) => [file.path, file.content.toString('base64')]) }));
}

beforeAll(async () => {
  tenantId = (await db().tenant.create({ data: { slug: `archive-${randomUUID().slice(0, 8)}`, name: 'Archive tests' } })).id;
  await ensureBuiltInRoles(tenantId);
  for (const role of await db().role.findMany({ where: { tenantId } })) roleIds[role.name] = role.id;
  research = await db().department.create({ data: { tenantId, slug: 'research', name: 'Research' } });
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('skill archives', () => {
  it('export, delete all, import the zip: identical skills', async () => {
    const ada = await person([{ role: 'member' }], null);
    await createSkill(ada, { content: md('alpha', 'Alpha $ARGUMENTS', 'tags: [a, b]\n'), files: [{ path: 'templates/report.md', content: Buffer.from('# Report\n') }, { path: 'logo.png', content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]) }] });
    const beta = await createSkill(ada, { content: md('beta', 'Beta v1') });
    await saveSkill(ada, beta.id, { content: md('beta', 'Beta v2'), baseVersion: 1 });
    await createSkill(ada, { content: md('gamma', 'Gamma') });
    const before = await snapshot(ada);

    const { zip } = await exportOwnSkills(ada);
    expect(readZip(zip).map((entry) => entry.name)).toEqual(['alpha/SKILL.md', 'alpha/logo.png', 'alpha/templates/report.md', 'beta/SKILL.md', 'gamma/SKILL.md']);
    for (const skill of await listOwnSkills(ada)) await deleteSkill(ada, skill.id);
    expect(await listOwnSkills(ada)).toEqual([]);

    const results = await importSkillBundles(ada, bundlesFromUpload('skills.zip', zip));
    expect(results.map((result) => [result.name, result.outcome])).toEqual([['alpha', 'restored'], ['beta', 'restored'], ['gamma', 'restored']]);
    expect(await snapshot(ada)).toEqual(before);

    // The same import into another account creates the skills there, identical too.
    const bob = await person([{ role: 'member' }], null);
    expect((await importSkillBundles(bob, bundlesFromUpload('skills.zip', zip))).map((result) => result.outcome)).toEqual(['created', 'created', 'created']);
    expect(await snapshot(bob)).toEqual(before);
    // Importing again changes nothing.
    expect((await importSkillBundles(bob, bundlesFromUpload('skills.zip', zip))).map((result) => result.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    const events = await pool().query<{ action: string }>(`SELECT action FROM audit_events WHERE tenant_id = $1 AND event_type = 'skill.change' AND event->'actor'->>'user_id' = $2 ORDER BY seq`, [tenantId, ada.userId]);
    expect(events.rows.map((row) => row.action)).toEqual(['skill.create', 'skill.create', 'skill.edit', 'skill.create', 'skill.export', 'skill.delete', 'skill.delete', 'skill.delete', 'skill.import', 'skill.import', 'skill.import']);
  });

  it('imports one SKILL.md, a zipped folder and a folder on disk; refuses a bad one entirely, naming file and line', async () => {
    const ada = await person([{ role: 'member' }], null);
    expect((await importSkillBundles(ada, bundlesFromUpload('SKILL.md', Buffer.from(md('single', 'One'))))).map((r) => r.name)).toEqual(['single']);
    const folderZip = writeZip([
      { name: 'my-folder/SKILL.md', data: Buffer.from(md('zipped', 'Z')) },
      { name: 'my-folder/examples/one.md', data: Buffer.from('example') },
      { name: '__MACOSX/my-folder/._SKILL.md', data: Buffer.from('junk') },
    ]);
    await importSkillBundles(ada, bundlesFromUpload('folder.zip', folderZip));
    expect((await listOwnSkills(ada)).find((skill) => skill.name === 'zipped')?.files.map((file) => file.path)).toEqual(['examples/one.md']);

    const dir = await mkdtemp(path.join(tmpdir(), 'skills-import-'));
    await mkdir(path.join(dir, 'from-disk', 'scripts'), { recursive: true });
    await writeFile(path.join(dir, 'from-disk', 'SKILL.md'), md('from-disk', 'Disk'));
    await writeFile(path.join(dir, 'from-disk', 'scripts', 'run.sh'), 'echo hi\n');
    expect((await importSkillBundles(ada, await bundlesFromFolder(dir))).map((r) => [r.name, r.outcome])).toEqual([['from-disk', 'created']]);

    const bad = writeZip([
      { name: 'good/SKILL.md', data: Buffer.from(md('good-one', 'fine')) },
      { name: 'bad/SKILL.md', data: Buffer.from('---\nname: Bad\ndescription: x\n---\nbody\n') },
    ]);
    const error = await importSkillBundles(ada, bundlesFromUpload('bad.zip', bad)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SkillImportError);
    expect((error as SkillImportError).problems).toEqual(['bad/SKILL.md:2: name may use only lower-case letters, digits and single hyphens (a-z, 0-9, -), not at the start or end']);
    expect((await listOwnSkills(ada)).map((skill) => skill.name)).not.toContain('good-one');
    expect(() => bundlesFromUpload('x.zip', writeZip([{ name: 'README.md', data: Buffer.from('hi') }]))).toThrow(/no SKILL.md found/);
    const evil = bundlesFromUpload('evil.zip', writeZip([{ name: 'evil/SKILL.md', data: Buffer.from(md('evil', 'x')) }, { name: 'evil/../../etc/x', data: Buffer.from('x') }]));
    await expect(importSkillBundles(ada, evil)).rejects.toThrow(/evil\/SKILL.md: skill "evil": "..\/..\/etc\/x" is not a usable file name/);
  });

  it('downloads a user’s and a department’s skills as a Claude plugin the plugin validator accepts', async () => {
    const author = await person([{ role: 'member' }, { role: 'author', departmentId: research.id }], research.id);
    const mine = await createSkill(author, { content: md('team-notes', 'Notes for $ARGUMENTS'), files: [{ path: 'template.md', content: Buffer.from('T') }] });
    await createSkill(author, { content: md('private-one', 'P') });
    await shareSkill(author, mine.id, { sharing: 'department', departmentId: research.id });

    const own = await ownSkillsPlugin(author, 'Ada Author');
    const ownPlugin = pluginFromZip(own.zip);
    expect(ownPlugin.manifest).toMatchObject({ name: expect.stringMatching(/-skills$/), author: { name: 'Ada Author', email: author.email } });
    expect(ownPlugin.files.map((file) => file.path).filter((p) => p.startsWith('skills/'))).toEqual(['skills/private-one/SKILL.md', 'skills/team-notes/SKILL.md', 'skills/team-notes/template.md']);

    const colleague = await person([{ role: 'member' }], research.id);
    const department = await departmentSkillsPlugin(colleague, 'research');
    expect(department.fileName).toBe('research-skills.zip');
    const departmentPlugin = pluginFromZip(department.zip);
    expect(departmentPlugin.manifest.name).toBe('research-skills');
    expect(departmentPlugin.files.map((file) => file.path).filter((p) => p.startsWith('skills/'))).toEqual(['skills/team-notes/SKILL.md', 'skills/team-notes/template.md']);

    const outsider = await person([{ role: 'member' }], null);
    await expect(departmentSkillsPlugin(outsider, 'research')).rejects.toThrow(ForbiddenError);
  });
});
