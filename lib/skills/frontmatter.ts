import { isMap, isScalar, LineCounter, parseDocument, stringify, type Document } from 'yaml';
import { z } from 'zod';
import { isRecord } from '@/lib/platform/json';

/**
 * SKILL.md: a YAML frontmatter block between `---` lines, then a Markdown body. Parsing never
 * throws on bad input: it returns every problem with the line (1-based, in the whole file) it
 * points at, so the editor can mark that line and the CLI can print `file:line: message`.
 * Plain module (no server imports): the browser editor validates with it as you type.
 */

/** Lower-case letters, digits and single hyphens, as the Agent Skills layout requires of a folder name. */
export const SKILL_NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const SKILL_NAME_MAX = 64;
/** A SKILL.md larger than this is refused (skills are instructions, not data). */
export const SKILL_MARKDOWN_MAX_BYTES = 256 * 1024;

export const skillNameSchema = z
  .string()
  .min(1, 'name is empty')
  .max(SKILL_NAME_MAX, `name is longer than ${SKILL_NAME_MAX} characters`)
  .regex(SKILL_NAME_PATTERN, 'name may use only lower-case letters, digits and single hyphens (a-z, 0-9, -), not at the start or end');

/** Argument names are identifiers so `$name` in a body can be told apart from the text after it. */
const ARGUMENT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const argumentSchema = z.preprocess(
  // `- topic` is shorthand for `- name: topic`.
  (value) => (typeof value === 'string' ? { name: value } : value),
  z.strictObject({
    name: z.string().max(64, 'argument name is longer than 64 characters').regex(ARGUMENT_NAME_PATTERN, 'argument name must be letters, digits and _ (not starting with a digit)'),
    description: z.string().max(1024).optional(),
    required: z.boolean('required must be true or false').optional(),
  }),
);

const stringList = (what: string) =>
  z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(z.string().min(1, `${what} entries are not empty`).max(200)).max(50));

export const frontmatterSchema = z
  .looseObject({
    name: skillNameSchema,
    description: z.string('description is required: one or two sentences saying what the skill does and when to use it').trim().min(1, 'description is empty').max(1024, 'description is longer than 1024 characters'),
    arguments: z
      .array(argumentSchema, 'arguments is a list of {name, description, required}')
      .max(20, 'at most 20 arguments')
      .optional()
      .superRefine((list, context) => {
        const seen = new Set<string>();
        list?.forEach((argument, index) => {
          if (seen.has(argument.name)) context.addIssue({ code: 'custom', path: [index, 'name'], message: `argument "${argument.name}" is listed twice` });
          seen.add(argument.name);
        });
      }),
    'argument-hint': z.string('argument-hint is text, e.g. "[issue-number]"').max(200).optional(),
    // Claude Code accepts a comma- or space-separated string or a list.
    'allowed-tools': z.union([z.string(), z.array(z.string())], 'allowed-tools is a list of tool names or one string').optional(),
    model: z.string('model is a model id').max(200).optional(),
    tags: stringList('tags').optional(),
    license: z.string('license is text').max(200).optional(),
    'disable-model-invocation': z.boolean('disable-model-invocation must be true or false').optional(),
  });

export type SkillFrontmatter = z.output<typeof frontmatterSchema>;
export type SkillArgument = NonNullable<SkillFrontmatter['arguments']>[number];

/** Keys Claude clients understand that Gatehouse stores as written without checking. */
const OTHER_CLIENT_KEYS = new Set(['user-invocable', 'effort', 'when_to_use', 'paths', 'hooks', 'context', 'agent', 'version', 'metadata', 'shell', 'compatibility']);

export interface SkillIssue {
  /** 1-based line in the whole SKILL.md. */
  line: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface ParsedSkill {
  frontmatter: SkillFrontmatter;
  body: string;
  /** The text as stored: LF line ends, ending with a newline. */
  content: string;
}

export type SkillParseResult = { ok: true; skill: ParsedSkill; issues: SkillIssue[] } | { ok: false; issues: SkillIssue[] };

/** LF line ends, no byte-order mark, one final newline: the form every version is stored in. */
export function normaliseSkillMarkdown(text: string): string {
  const unified = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  return unified.endsWith('\n') ? unified : `${unified}\n`;
}

interface Blocks {
  yaml: string;
  /** Line of the opening `---` (always 1) and of the closing one. */
  closingLine: number;
  body: string;
}

function splitBlocks(content: string): Blocks | SkillIssue {
  const lines = content.split('\n');
  if (lines[0]?.trimEnd() !== '---') return { line: 1, severity: 'error', message: 'SKILL.md must start with a frontmatter block: a line "---", the YAML fields (name, description, …), then another "---"' };
  const closing = lines.findIndex((line, index) => index > 0 && (line.trimEnd() === '---' || line.trimEnd() === '...'));
  if (closing < 0) return { line: 1, severity: 'error', message: 'the frontmatter block is never closed: add a line "---" after the last field' };
  return { yaml: lines.slice(1, closing).join('\n'), closingLine: closing + 1, body: lines.slice(closing + 1).join('\n').replace(/^\n+/, '') };
}

/** The YAML line (1-based, within the block) of the deepest node on `path` that exists. */
function lineOfPath(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number | null {
  for (let length = path.length; length > 0; length--) {
    const keys = path.slice(0, length).map((key) => (typeof key === 'symbol' ? String(key) : key));
    const node = document.getIn(keys, true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lineCounter.linePos(range[0]).line;
  }
  return null;
}

/** The YAML line of a top-level key (for unknown-key messages). */
function lineOfKey(document: Document, lineCounter: LineCounter, key: string): number | null {
  if (!isMap(document.contents)) return null;
  const pair = document.contents.items.find((item) => isScalar(item.key) && item.key.value === key);
  const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
  return range ? lineCounter.linePos(range[0]).line : null;
}

function zodMessage(issue: z.core.$ZodIssue): string {
  // Our messages name their field and start in lower case; zod's defaults ("Invalid input") do neither.
  if (!/^[A-Z]/.test(issue.message) || issue.path.length === 0) return issue.message;
  return `${issue.path.map(String).join('.')}: ${issue.message}`;
}

/** Parses and validates a SKILL.md. Errors make `ok` false; warnings never do. */
export function parseSkillMarkdown(text: string): SkillParseResult {
  const content = normaliseSkillMarkdown(text);
  if (new TextEncoder().encode(content).length > SKILL_MARKDOWN_MAX_BYTES) return { ok: false, issues: [{ line: 1, severity: 'error', message: `SKILL.md is larger than ${SKILL_MARKDOWN_MAX_BYTES / 1024} KB` }] };
  const blocks = splitBlocks(content);
  if ('message' in blocks) return { ok: false, issues: [blocks] };

  const lineCounter = new LineCounter();
  const document = parseDocument(blocks.yaml, { lineCounter, prettyErrors: false, uniqueKeys: true });
  // +1: the YAML starts on line 2, after the opening `---`.
  const yamlIssues: SkillIssue[] = [...document.errors, ...document.warnings].map((problem) => ({
    line: lineCounter.linePos(problem.pos[0]).line + 1,
    severity: problem.name === 'YAMLWarning' ? 'warning' : 'error',
    message: `YAML: ${problem.message.split('\n')[0]}`,
  }));
  if (yamlIssues.some((issue) => issue.severity === 'error')) return { ok: false, issues: yamlIssues };

  const data: unknown = document.toJS() ?? {};
  if (!isRecord(data)) {
    return { ok: false, issues: [...yamlIssues, { line: 2, severity: 'error', message: 'the frontmatter must be YAML fields (key: value), e.g. "name: my-skill"' }] };
  }

  const issues: SkillIssue[] = [...yamlIssues];
  const result = frontmatterSchema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const topKey = typeof issue.path[0] === 'string' ? issue.path[0] : null;
      if (topKey !== null && !(topKey in data)) {
        // A missing field points at the opening `---`: the block it belongs in.
        issues.push({ line: 1, severity: 'error', message: topKey === 'description' ? 'description is required: one or two sentences saying what the skill does and when to use it' : `${topKey} is required` });
        continue;
      }
      const yamlLine = lineOfPath(document, lineCounter, issue.path);
      issues.push({ line: yamlLine === null ? 1 : yamlLine + 1, severity: 'error', message: zodMessage(issue) });
    }
  }
  for (const key of Object.keys(data)) {
    if (key in frontmatterSchema.shape || OTHER_CLIENT_KEYS.has(key)) continue;
    issues.push({ line: (lineOfKey(document, lineCounter, key) ?? 1) + 1, severity: 'warning', message: `"${key}" is not a field Gatehouse or Claude knows; it is kept as written` });
  }
  if (!blocks.body.trim()) issues.push({ line: blocks.closingLine, severity: 'warning', message: 'the body is empty: write the instructions below the frontmatter' });
  issues.sort((a, b) => a.line - b.line);
  if (!result.success) return { ok: false, issues };
  return { ok: true, skill: { frontmatter: result.data, body: blocks.body, content }, issues };
}

/** The errors of a failed parse in one line each: `line 3: name may use only …`. */
export function describeSkillIssues(issues: readonly SkillIssue[], prefix = 'line'): string[] {
  return issues.filter((issue) => issue.severity === 'error').map((issue) => `${prefix} ${issue.line}: ${issue.message}`);
}

/** Builds a SKILL.md from fields and a body (new skills, templates). Key order follows the input. */
export function serialiseSkillMarkdown(frontmatter: Record<string, unknown>, body: string): string {
  const fields = Object.fromEntries(Object.entries(frontmatter).filter(([, value]) => value !== undefined));
  return normaliseSkillMarkdown(`---\n${stringify(fields, { lineWidth: 0 })}---\n\n${body.replace(/^\n+/, '')}`);
}

/** The name a SKILL.md declares, read leniently (for messages about a file that does not validate). */
export function declaredSkillName(text: string): string | null {
  const match = /^name:\s*["']?([^"'\n#]+?)["']?\s*(?:#.*)?$/m.exec(normaliseSkillMarkdown(text).split(/\n---\s*\n/)[0] ?? '');
  return match?.[1]?.trim() || null;
}
