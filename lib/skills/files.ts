/**
 * Extra files of a skill (templates, examples, scripts next to SKILL.md): safe relative paths
 * and size limits, checked the same way whether they come from the editor, an import or the CLI.
 */
import { checkPath } from '@/lib/plugins/paths';
import { UserInputError } from '@/lib/users/tenant';
import type { SkillFileContent } from './repository';

export const MAX_SKILL_FILES = 100;
export const MAX_SKILL_FILE_BYTES = 1024 * 1024;
export const MAX_SKILL_FILES_TOTAL_BYTES = 5 * 1024 * 1024;

/** Validated, sorted by path; throws UserInputError naming the first problem. */
export function checkSkillFiles(skillName: string, files: readonly SkillFileContent[]): SkillFileContent[] {
  if (files.length > MAX_SKILL_FILES) throw new UserInputError(`skill "${skillName}" has ${files.length} extra files; at most ${MAX_SKILL_FILES}`);
  const seen = new Set<string>();
  let total = 0;
  const checked = files.map((file) => {
    // The same path rules as plugin uploads: a skill's folder ends up in plugins too.
    const checked = checkPath(file.path);
    if ('error' in checked) throw new UserInputError(`skill "${skillName}": "${file.path}" is not a usable file name: ${checked.error}`);
    const path = checked.path;
    if (path === 'SKILL.md') throw new UserInputError(`skill "${skillName}": SKILL.md is the skill itself, not an extra file`);
    if (seen.has(path)) throw new UserInputError(`skill "${skillName}": "${path}" is given twice`);
    seen.add(path);
    if (file.content.length > MAX_SKILL_FILE_BYTES) throw new UserInputError(`skill "${skillName}": "${path}" is larger than ${MAX_SKILL_FILE_BYTES / 1024 / 1024} MB`);
    total += file.content.length;
    return { path, content: file.content };
  });
  if (total > MAX_SKILL_FILES_TOTAL_BYTES) throw new UserInputError(`skill "${skillName}": extra files total more than ${MAX_SKILL_FILES_TOTAL_BYTES / 1024 / 1024} MB`);
  return checked.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Same paths with the same bytes. */
export function sameSkillFiles(a: readonly SkillFileContent[], b: readonly SkillFileContent[]): boolean {
  if (a.length !== b.length) return false;
  const byPath = new Map(b.map((file) => [file.path, file.content]));
  return a.every((file) => {
    const other = byPath.get(file.path);
    return other !== undefined && Buffer.compare(file.content, other) === 0;
  });
}
