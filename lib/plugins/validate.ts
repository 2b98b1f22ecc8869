import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { lineOfPath, parseJsonWithLine } from './json-lines';
import { PluginUploadError, type PluginIssue } from './limits';
import { agentFrontmatterSchema, commandFrontmatterSchema, hooksFileSchema, manifestSchema, mcpFileSchema, skillFrontmatterSchema, type PluginManifest } from './manifest';
import type { PluginFile } from './paths';

export const MANIFEST_PATH = '.claude-plugin/plugin.json';
export const HOOKS_PATH = 'hooks/hooks.json';
export const MCP_PATH = '.mcp.json';

export interface HookSummary {
  event: string;
  matcher: string | null;
  type: string;
  /** The command (or prompt, or URL) it runs. */
  run: string;
}

export interface McpServerSummary {
  name: string;
  transport: string;
  /** The URL, or the command line, it connects to. */
  target: string;
}

/** What a plugin brings, as the review queue and the plugin page show it. */
export interface PluginComponents {
  skills: { name: string; description: string; path: string }[];
  commands: { name: string; description: string | null; path: string }[];
  agents: { name: string; description: string; path: string }[];
  hooks: HookSummary[];
  mcpServers: McpServerSummary[];
}

export interface ValidatedPlugin {
  manifest: PluginManifest;
  files: PluginFile[];
  components: PluginComponents;
  readme: string | null;
}

function zodIssues(file: string, text: string, error: z.ZodError, lineOffset = 0): PluginIssue[] {
  return error.issues.map((issue) => {
    const where = issue.path.map(String).join('.');
    const line = lineOfPath(text, issue.path);
    return { file, ...(line ? { line: line + lineOffset } : {}), message: `${where ? `${where}: ` : ''}${issue.message}` };
  });
}

function parseJsonFile<T>(file: PluginFile, schema: z.ZodType<T>, issues: PluginIssue[]): T | null {
  const text = file.content.toString('utf8');
  const parsed = parseJsonWithLine(text);
  if (!parsed.ok) {
    issues.push({ file: file.path, ...(parsed.line ? { line: parsed.line } : {}), message: parsed.message });
    return null;
  }
  const result = schema.safeParse(parsed.value);
  if (!result.success) {
    issues.push(...zodIssues(file.path, text, result.error));
    return null;
  }
  return result.data;
}

/** YAML front matter between `---` lines at the top of a Markdown file, checked against `schema`. */
function parseFrontmatter<T>(file: PluginFile, schema: z.ZodType<T>, issues: PluginIssue[], required: boolean): T | null {
  const text = file.content.toString('utf8').replace(/^\uFEFF/, '');
  const match = /^---\r?\n([\s\S]*?)\r?\n---\s*(?:\r?\n|$)/.exec(text);
  if (!match) {
    if (required) issues.push({ file: file.path, line: 1, message: 'needs YAML front matter between --- lines, with at least name and description' });
    return required ? null : (schema.safeParse({}).data ?? null);
  }
  const document = parseDocument(match[1]!, { prettyErrors: false });
  if (document.errors.length > 0) {
    for (const error of document.errors) issues.push({ file: file.path, line: (error.linePos?.[0].line ?? 0) + 1, message: `front matter is not valid YAML: ${error.message.split('\n')[0]}` });
    return null;
  }
  const result = schema.safeParse(document.toJS() ?? {});
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path[0];
      const lines = match[1]!.split(/\r?\n/);
      const index = typeof key === 'string' ? lines.findIndex((line) => line.startsWith(`${key}:`)) : -1;
      issues.push({ file: file.path, line: index >= 0 ? index + 2 : 1, message: `${issue.path.map(String).join('.') || 'front matter'}: ${issue.message}` });
    }
    return null;
  }
  return result.data;
}

function hookSummaries(hooks: z.output<typeof hooksFileSchema>): HookSummary[] {
  return Object.entries(hooks.hooks).flatMap(([event, groups]) =>
    groups.flatMap((group) =>
      group.hooks.map((hook) => ({ event, matcher: group.matcher ?? null, type: hook.type, run: hook.command ?? hook.prompt ?? hook.url ?? '' })),
    ),
  );
}

function mcpSummaries(file: z.output<typeof mcpFileSchema>): McpServerSummary[] {
  return Object.entries(file.mcpServers).map(([name, server]) => ({
    name,
    transport: server.type ?? (server.command ? 'stdio' : 'http'),
    target: server.url ?? [server.command, ...(server.args ?? [])].join(' '),
  }));
}

const SKILL_FILE = /^skills\/([^/]+)\/SKILL\.md$/;
const COMMAND_FILE = /^commands\/([^/]+)\.md$/;
const AGENT_FILE = /^agents\/([^/]+)\.md$/;

/**
 * Checks a plugin's files as Claude Code's plugin layout defines them, collecting every problem
 * (per file and line) before refusing. Files it has no rule for (scripts a hook runs, references
 * a skill reads) are accepted as they are: they are reviewed, signed and synced like the rest.
 */
export function validatePlugin(files: PluginFile[]): ValidatedPlugin {
  const issues: PluginIssue[] = [];
  const byPath = new Map(files.map((file) => [file.path, file]));
  const manifestFile = byPath.get(MANIFEST_PATH);
  let manifest: PluginManifest | null = null;
  if (!manifestFile) issues.push({ file: MANIFEST_PATH, message: 'missing: every plugin needs .claude-plugin/plugin.json with name, version and description' });
  else manifest = parseJsonFile(manifestFile, manifestSchema, issues);

  const components: PluginComponents = { skills: [], commands: [], agents: [], hooks: [], mcpServers: [] };
  for (const file of files) {
    if (file.path.startsWith('.claude-plugin/') && file.path !== MANIFEST_PATH) {
      issues.push({ file: file.path, message: 'only plugin.json belongs in .claude-plugin/ (put other files beside it)' });
      continue;
    }
    const skill = SKILL_FILE.exec(file.path);
    if (skill) {
      const front = parseFrontmatter(file, skillFrontmatterSchema, issues, true);
      if (front) {
        if (front.name !== skill[1]) issues.push({ file: file.path, line: 2, message: `name "${front.name}" must match the folder name "${skill[1]}"` });
        components.skills.push({ name: front.name, description: front.description, path: file.path });
      }
      continue;
    }
    const command = COMMAND_FILE.exec(file.path);
    if (command) {
      const front = parseFrontmatter(file, commandFrontmatterSchema, issues, false);
      if (front) components.commands.push({ name: command[1]!, description: front.description ?? null, path: file.path });
      continue;
    }
    const agent = AGENT_FILE.exec(file.path);
    if (agent) {
      const front = parseFrontmatter(file, agentFrontmatterSchema, issues, true);
      if (front) components.agents.push({ name: front.name, description: front.description, path: file.path });
      continue;
    }
    if (file.path === HOOKS_PATH) {
      const hooks = parseJsonFile(file, hooksFileSchema, issues);
      if (hooks) components.hooks = hookSummaries(hooks);
      continue;
    }
    if (file.path === MCP_PATH) {
      const servers = parseJsonFile(file, mcpFileSchema, issues);
      if (servers) components.mcpServers = mcpSummaries(servers);
    }
  }
  if (manifest && components.skills.length + components.commands.length + components.agents.length + components.hooks.length + components.mcpServers.length === 0) {
    issues.push({ file: '(plugin)', message: 'brings nothing: add at least one skill (skills/NAME/SKILL.md), command, agent, hook or MCP server' });
  }
  if (issues.length > 0 || !manifest) throw new PluginUploadError(issues);
  const readmeFile = files.find((file) => /^readme(\.md)?$/i.test(file.path));
  return { manifest, files, components, readme: readmeFile ? readmeFile.content.toString('utf8') : null };
}
