/**
 * Extra files of a skill (templates, examples, scripts next to SKILL.md): safe relative paths
 * and size limits, checked the same way whether they come from the editor, an import or the CLI.
 */
import { UserInputError } from '@/lib/users/tenant';
import type { SkillFileContent } from './repository';

export const MAX_SKILL_FILES = 100;
export const MAX_SKILL_FILE_BYTES = 1024 * 1024;
export const MAX_SKILL_FILES_TOTAL_BYTES = 5 * 1024 * 1024;

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._ -]*$/;

/** `a/b.md` for a safe relative path, null for anything that could leave the folder or confuse a file system. */
export function cleanSkillFilePath(raw: string): string | null {
  const path = raw.replace(/^\.\//, '');
  if (!path || path.length > 300 || path.includes('\\') || path.includes('\0')) return null;
  const segments = path.split('/');
  if (segments.some((segment) => !SEGMENT.test(segment) || segment.endsWith('.') || segment.endsWith(' '))) return null;
  return segments.join('/');
}

/** Validated, sorted by path; throws UserInputError naming the first problem. */
export function checkSkillFiles(skillName: string, files: readonly SkillFileContent[]): SkillFileContent[] {
  if (files.length > MAX_SKILL_FILES) throw new UserInputError(`skill "${skillName}" has ${files.length} extra files; at most ${MAX_SKILL_FILES}`);
  const seen = new Set<string>();
  let total = 0;
  const checked = files.map((file) => {
    const path = cleanSkillFilePath(file.path);
    if (!path) throw new UserInputError(`skill "${skillName}": "${file.path}" is not a usable file name (letters, digits, . _ - and spaces, in folders; no "..")`);
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
