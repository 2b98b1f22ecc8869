/**
 * Turning a skill into the text a model reads: its body with arguments filled in. The MCP
 * prompt, the skill resource and the skill tool all render through renderSkill, so a slash
 * command and an agent fetching the skill see the same words.
 *
 * Placeholders (only declared argument names are replaced, so `$HOME` in a shell snippet stays):
 * - `$name`, `${name}` and `{{name}}` / `{{ name }}`: that argument's value ('' when not given);
 * - `$ARGUMENTS`: every value given, in declared order, joined by spaces; when the skill declares
 *   no arguments, the value of an argument passed as `ARGUMENTS` or `arguments` (free text).
 * As in Claude Code, when the body uses no placeholder and something was passed, the values are
 * appended on a last line `ARGUMENTS: …`, so nothing the user typed is silently dropped.
 */
import type { SkillArgument } from './frontmatter';

export interface RenderableSkill {
  name: string;
  body: string;
  arguments: readonly SkillArgument[];
}

/** A required argument was not given: the caller answers in its protocol's shape (MCP: invalid params). */
export class SkillArgumentError extends Error {
  override name = 'SkillArgumentError';
  constructor(readonly skill: string, readonly missing: readonly string[]) {
    super(`skill "${skill}" needs ${missing.length === 1 ? 'argument' : 'arguments'} ${missing.map((name) => `"${name}"`).join(', ')}`);
  }
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The free-text value for `$ARGUMENTS`. */
function allArguments(skill: RenderableSkill, args: Readonly<Record<string, string>>): string {
  if (skill.arguments.length === 0) return (args.ARGUMENTS ?? args.arguments ?? '').trim();
  return skill.arguments
    .map((argument) => args[argument.name]?.trim() ?? '')
    .filter(Boolean)
    .join(' ');
}

export function renderSkill(skill: RenderableSkill, args: Readonly<Record<string, string>>): string {
  const missing = skill.arguments.filter((argument) => argument.required && !args[argument.name]?.trim()).map((argument) => argument.name);
  if (missing.length) throw new SkillArgumentError(skill.name, missing);

  let used = false;
  // Longest names first, so `$topic_long` is not read as `$topic` followed by `_long`.
  const names = skill.arguments.map((argument) => argument.name).sort((a, b) => b.length - a.length);
  const alternatives = ['ARGUMENTS', ...names].map(escapeRegExp).join('|');
  const pattern = new RegExp(`\\{\\{\\s*(${alternatives})\\s*\\}\\}|\\$\\{(${alternatives})\\}|\\$(${alternatives})(?![A-Za-z0-9_])`, 'g');
  const rendered = skill.body.replace(pattern, (_match, braces?: string, dollarBraces?: string, dollar?: string) => {
    used = true;
    const name = braces ?? dollarBraces ?? dollar ?? '';
    return name === 'ARGUMENTS' ? allArguments(skill, args) : (args[name] ?? '');
  });
  const given = allArguments(skill, args);
  if (used || !given) return rendered;
  return `${rendered.replace(/\n*$/, '')}\n\nARGUMENTS: ${given}\n`;
}
