/**
 * Skills in and out as files, in the Agent Skills layout: one folder per skill, named after it,
 * holding SKILL.md and its extra files. Imports take a single SKILL.md, a zipped folder, a zip of
 * many folders (an export, a plugin's skills/) or a folder on disk; exports write the same layout,
 * so export → import gives the same skills back. A plugin download adds .claude-plugin/plugin.json.
 */
import { readFolderFiles, isJunk } from '@/lib/plugins/upload';
import { PluginUploadError, UPLOAD_LIMITS } from '@/lib/plugins/limits';
import { readZip, writeZip, type ZipInput } from '@/lib/plugins/zip';
import { authorize } from '@/lib/rbac/authorize';
import { UserInputError } from '@/lib/users/tenant';
import { checkSkillFiles } from './files';
import { parseSkillMarkdown, type ParsedSkill } from './frontmatter';
import * as repository from './repository';
import type { SkillFileContent } from './repository';
import { importSkill, listOwnSkills, recordSkillChange, requireOwnSkills, requireSkillPermission, type OwnSkill, type SkillActor } from './service';
import { toVisibleSkill, type VisibleSkill } from './visible';

const SKILL_FILE = 'SKILL.md';

/** A skill read from files, before it is stored: where it was found, its SKILL.md and extra files. */
export interface SkillBundle {
  /** The folder it came from inside the upload ('' for the top level). */
  folder: string;
  content: string;
  files: SkillFileContent[];
}

/** An import that cannot be done: every problem, one line each (`folder/SKILL.md:3: …`). */
export class SkillImportError extends UserInputError {
  override name = 'SkillImportError';
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems: ${problems.join('; ')}`);
  }
}

function isZip(data: Buffer): boolean {
  return data.length >= 4 && data.readUInt32LE(0) === 0x04034b50;
}

/** Hidden files (.DS_Store, .git/…) are left out; `.` and `..` are not hidden, and fail the path check. */
function hidden(path: string): boolean {
  return isJunk(path) || path.split('/').some((segment) => segment.startsWith('.') && segment !== '.' && segment !== '..');
}

/**
 * Groups files into skills: every SKILL.md starts one, rooted at its folder; the other files
 * below that folder (and not inside a deeper skill's folder) are its extra files. Files outside
 * every skill folder (a plugin.json, a README at the top) are left out.
 */
export function bundlesFromFiles(entries: readonly { name: string; data: Buffer }[]): SkillBundle[] {
  const files = entries.filter((entry) => !entry.name.endsWith('/') && !hidden(entry.name));
  const roots = files
    .filter((entry) => entry.name === SKILL_FILE || entry.name.endsWith(`/${SKILL_FILE}`))
    .map((entry) => entry.name.slice(0, -SKILL_FILE.length).replace(/\/$/, ''))
    // Deepest first, so a file goes to the nearest skill above it.
    .sort((a, b) => b.length - a.length);
  if (roots.length === 0) throw new SkillImportError(['no SKILL.md found: import a SKILL.md, a folder containing one, or a zip of such folders']);
  const bundles = new Map<string, SkillBundle>(roots.map((root) => [root, { folder: root, content: '', files: [] }]));
  for (const entry of files) {
    const root = roots.find((candidate) => candidate === '' || entry.name.startsWith(`${candidate}/`));
    if (root === undefined) continue;
    const bundle = bundles.get(root)!;
    const relative = root === '' ? entry.name : entry.name.slice(root.length + 1);
    if (relative === SKILL_FILE) bundle.content = entry.data.toString('utf8');
    else bundle.files.push({ path: relative, content: entry.data });
  }
  return [...bundles.values()].sort((a, b) => a.folder.localeCompare(b.folder));
}

function zipEntries(data: Buffer): { name: string; data: Buffer }[] {
  try {
    return readZip(data, UPLOAD_LIMITS).filter((entry) => !entry.isDirectory);
  } catch (error) {
    if (error instanceof PluginUploadError) throw new SkillImportError(error.issues.map((issue) => `${issue.file}: ${issue.message}`));
    throw error;
  }
}

/** An uploaded file: a zip (any of the layouts above) or one SKILL.md. */
export function bundlesFromUpload(fileName: string, data: Buffer): SkillBundle[] {
  if (isZip(data)) return bundlesFromFiles(zipEntries(data));
  if (fileName.toLowerCase().endsWith('.zip')) throw new SkillImportError([`${fileName}: not a ZIP archive`]);
  return [{ folder: '', content: data.toString('utf8'), files: [] }];
}

/** A folder on disk holding one skill (SKILL.md at its top) or many skill folders. */
export async function bundlesFromFolder(root: string): Promise<SkillBundle[]> {
  try {
    return bundlesFromFiles(await readFolderFiles(root, UPLOAD_LIMITS));
  } catch (error) {
    if (error instanceof PluginUploadError) throw new SkillImportError(error.issues.map((issue) => `${issue.file}: ${issue.message}`));
    throw error;
  }
}

interface CheckedBundle {
  parsed: ParsedSkill;
  files: SkillFileContent[];
}

/** Validates every bundle first, so an import with one bad skill changes nothing. */
function checkBundles(bundles: readonly SkillBundle[]): CheckedBundle[] {
  const problems: string[] = [];
  const checked: CheckedBundle[] = [];
  const seen = new Map<string, string>();
  for (const bundle of bundles) {
    const label = bundle.folder ? `${bundle.folder}/${SKILL_FILE}` : SKILL_FILE;
    const parsed = parseSkillMarkdown(bundle.content);
    if (!parsed.ok) {
      problems.push(...parsed.issues.filter((issue) => issue.severity === 'error').map((issue) => `${label}:${issue.line}: ${issue.message}`));
      continue;
    }
    const name = parsed.skill.frontmatter.name;
    const other = seen.get(name);
    if (other) {
      problems.push(`${label}: skill "${name}" is also in ${other}`);
      continue;
    }
    seen.set(name, label);
    try {
      checked.push({ parsed: parsed.skill, files: checkSkillFiles(name, bundle.files) });
    } catch (error) {
      if (error instanceof UserInputError) problems.push(`${label}: ${error.message}`);
      else throw error;
    }
  }
  if (problems.length) throw new SkillImportError(problems);
  return checked;
}

export interface ImportedSkill {
  name: string;
  version: number;
  outcome: 'created' | 'updated' | 'restored' | 'unchanged';
}

/**
 * Imports into the actor's own skills: new names are created; a name they already have gets a
 * new version when anything differs (a deleted one is restored with it). All or nothing on
 * validation; each skill's write is audited (skill.import).
 */
export async function importSkillBundles(actor: SkillActor, bundles: readonly SkillBundle[], source: 'import' | 'cli' = 'import'): Promise<ImportedSkill[]> {
  await requireOwnSkills(actor, 'skills.write', 'skill.import');
  const checked = checkBundles(bundles);
  const results: ImportedSkill[] = [];
  for (const { parsed, files } of checked) {
    const { skill, outcome } = await importSkill(actor, parsed, files, source);
    results.push({ name: skill.name, version: skill.version, outcome });
  }
  return results;
}

function folderEntries(prefix: string, skill: Pick<VisibleSkill, 'name' | 'content' | 'files'>): ZipInput[] {
  return [{ name: `${prefix}${skill.name}/${SKILL_FILE}`, data: Buffer.from(skill.content, 'utf8') }, ...skill.files.map((file) => ({ name: `${prefix}${skill.name}/${file.path}`, data: file.content }))];
}

/** A zip of `name/SKILL.md` folders (Agent Skills layout) for the given skills, sorted by name. */
export function skillsZip(skills: readonly Pick<VisibleSkill, 'name' | 'content' | 'files'>[], prefix = ''): Buffer {
  const sorted = [...skills].sort((a, b) => a.name.localeCompare(b.name));
  return writeZip(sorted.flatMap((skill) => folderEntries(prefix, skill)));
}

/** Exports the actor's own skills (all, or those named), newest versions; audited as skill.export. */
export async function exportOwnSkills(actor: SkillActor, names?: readonly string[]): Promise<{ zip: Buffer; skills: OwnSkill[] }> {
  const own = await listOwnSkills(actor);
  const skills = names ? own.filter((skill) => names.includes(skill.name)) : own;
  if (names && skills.length !== names.length) throw new UserInputError(`no skill named ${names.filter((name) => !skills.some((skill) => skill.name === name)).map((name) => `"${name}"`).join(', ')}`);
  const zip = skillsZip(skills);
  await recordSkillChange(actor, 'skill.export', names && skills.length === 1 ? { id: skills[0]!.id, name: skills[0]!.name } : undefined, { skills: skills.length, names: skills.map((skill) => skill.name).join(',').slice(0, 4000) });
  return { zip, skills };
}

function pluginName(base: string): string {
  const slug = base
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return `${slug || 'gatehouse'}-skills`;
}

/** Changes with every edit, share and delete of the skills in it: plugin clients update on a new version. */
function pluginVersion(skills: readonly VisibleSkill[]): string {
  const newest = Math.max(0, ...skills.map((skill) => Math.floor(skill.updatedAt.getTime() / 1000)));
  return `1.${skills.length}.${newest}`;
}

/** A Claude plugin folder, zipped: `.claude-plugin/plugin.json` and `skills/<name>/…`. */
export function skillsPluginZip(plugin: { name: string; description: string; author: { name: string; email?: string } }, skills: readonly VisibleSkill[]): Buffer {
  const manifest = { name: plugin.name, version: pluginVersion(skills), description: plugin.description, author: plugin.author, keywords: ['skills', 'gatehouse'] };
  const root = `${plugin.name}/`;
  const sorted = [...skills].sort((a, b) => a.name.localeCompare(b.name));
  return writeZip([{ name: `${root}.claude-plugin/plugin.json`, data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) }, ...sorted.flatMap((skill) => folderEntries(`${root}skills/`, skill))]);
}

/** The actor's own skills as a Claude plugin. */
export async function ownSkillsPlugin(actor: SkillActor, ownerName: string): Promise<{ fileName: string; zip: Buffer }> {
  const skills = await listOwnSkills(actor);
  const name = pluginName(actor.email.split('@')[0] ?? 'my');
  const zip = skillsPluginZip({ name, description: `Skills of ${ownerName} from Gatehouse`, author: { name: ownerName, email: actor.email } }, skills);
  await recordSkillChange(actor, 'skill.export', undefined, { format: 'plugin', plugin: name, skills: skills.length });
  return { fileName: `${name}.zip`, zip };
}

/**
 * The skills shared with a department, as a Claude plugin: for its members (skills.read) and for
 * whoever publishes for it (plugins.publish there), e.g. to hand to the plugin marketplace.
 */
export async function departmentSkillsPlugin(actor: SkillActor, departmentSlug: string): Promise<{ fileName: string; zip: Buffer }> {
  const department = await repository.departmentBySlug(actor.tenantId, departmentSlug);
  if (!department) throw new UserInputError(`no department "${departmentSlug}"`);
  const memberOf = (await repository.userDepartmentId(actor.tenantId, actor.userId)) === department.id;
  const principal = { userId: actor.userId, tenantId: actor.tenantId };
  if (!(memberOf && (await authorize(principal, 'skills.read', { departmentId: department.id })))) {
    await requireSkillPermission(actor, 'plugins.publish', department.id, 'skill.export');
  }
  const rows = await repository.findDepartmentSkills(actor.tenantId, department.id);
  // Rows come oldest first: when two people shared the same name, the first one keeps it.
  const byName = new Map<string, VisibleSkill>();
  for (const skill of rows.flatMap((row) => toVisibleSkill(row, actor.userId) ?? [])) if (!byName.has(skill.name)) byName.set(skill.name, skill);
  const skills = [...byName.values()];
  const name = pluginName(department.slug);
  const zip = skillsPluginZip({ name, description: `Skills shared with ${department.name}, from Gatehouse`, author: { name: department.name } }, skills);
  await recordSkillChange(actor, 'skill.export', undefined, { format: 'plugin', plugin: name, department: department.slug, skills: skills.length });
  return { fileName: `${name}.zip`, zip };
}
