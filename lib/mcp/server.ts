/**
 * The skills MCP server for one session (one connected client of one user), on the SDK's
 * low-level Server: the prompt list is per user and changes at run time, so handlers answer from
 * lib/skills on every request rather than registering prompts up front.
 *   prompts/list  the user's visible skills, with their arguments (the / commands)
 *   prompts/get   the skill rendered with the arguments, as one user message
 *   resources     each skill as skill://<name>/SKILL.md
 *   tools         get_skill: a skill by name, for agents that route to skills
 * All three reads go through presentSkill (lookup, renderer, audit).
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Prompt,
} from '@modelcontextprotocol/sdk/types.js';
import { isRecord } from '@/lib/platform/json';
import { listVisibleSkills, SkillArgumentError, type VisibleSkill } from '@/lib/skills';
import type { McpCaller } from './caller';
import { MCP_SERVER_NAME, presentSkill, SKILL_TOOL, skillNameOfUri, skillResourceUri, UnknownSkillError, type SkillPath } from './present';

/** What the request handlers need from the HTTP request that carried the message. */
interface HandlerExtra {
  authInfo?: { extra?: Record<string, unknown> };
  sessionId?: string;
  requestId: string | number;
}

export interface SkillsSessionHooks {
  /** The skills a prompts/list or resources/list just showed, so changes to them can be signalled. */
  listed(skillIds: readonly string[]): void;
}

/** The caller the transport passed along with this message (see sessions.ts). */
function callerOf(extra: HandlerExtra): McpCaller {
  const caller = extra.authInfo?.extra?.caller as McpCaller | undefined;
  if (!caller) throw new McpError(ErrorCode.InternalError, 'request without an authenticated caller');
  return caller;
}

/** A skill with no declared arguments takes free text, as Claude Code's skills do. */
function promptArguments(skill: VisibleSkill): NonNullable<Prompt['arguments']> {
  if (skill.arguments.length > 0) return skill.arguments.map((argument) => ({ name: argument.name, ...(argument.description ? { description: argument.description } : {}), required: argument.required ?? false }));
  return [{ name: 'arguments', description: skill.argumentHint ?? 'What to work on (free text)', required: false }];
}

function stringArguments(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw new McpError(ErrorCode.InvalidParams, 'arguments must be an object of strings');
  const args: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw new McpError(ErrorCode.InvalidParams, `argument ${name.slice(0, 100)} must be a string`);
    args[name] = value;
  }
  return args;
}

async function present(extra: HandlerExtra, path: SkillPath, name: string, args: Record<string, string>) {
  try {
    return await presentSkill({ caller: callerOf(extra), path, name, args, mcpSessionId: extra.sessionId, jsonRpcId: extra.requestId });
  } catch (error) {
    if (error instanceof UnknownSkillError || error instanceof SkillArgumentError) throw new McpError(ErrorCode.InvalidParams, error.message);
    throw error;
  }
}

async function visibleSkills(extra: HandlerExtra, hooks: SkillsSessionHooks): Promise<VisibleSkill[]> {
  const { principal } = callerOf(extra);
  const skills = await listVisibleSkills({ tenantId: principal.tenantId, userId: principal.userId });
  hooks.listed(skills.map((skill) => skill.id));
  return skills;
}

export function createSkillsServer(hooks: SkillsSessionHooks): Server {
  const server = new Server(
    { name: MCP_SERVER_NAME, title: 'Gatehouse skills', version: '1.0.0' },
    {
      capabilities: { prompts: { listChanged: true }, resources: { listChanged: true }, tools: {} },
      instructions: 'Your Gatehouse skills: each is a prompt (slash command), a skill://<name>/SKILL.md resource, and available through the get_skill tool.',
    },
  );

  server.setRequestHandler(ListPromptsRequestSchema, async (_request, extra) => ({
    prompts: (await visibleSkills(extra, hooks)).map((skill) => ({ name: skill.name, title: skill.name, description: skill.description, arguments: promptArguments(skill) })),
  }));

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const { skill, text } = await present(extra, 'prompts/get', request.params.name, stringArguments(request.params.arguments));
    return { description: skill.description, messages: [{ role: 'user', content: { type: 'text', text } }] };
  });

  server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => ({
    resources: (await visibleSkills(extra, hooks)).map((skill) => ({ uri: skillResourceUri(skill.name), name: skill.name, title: `${skill.name}/SKILL.md`, description: skill.description, mimeType: 'text/markdown' })),
  }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const name = skillNameOfUri(request.params.uri);
    if (!name) throw new McpError(ErrorCode.InvalidParams, 'skill resources are skill://<name>/SKILL.md');
    const { text } = await present(extra, 'resources/read', name, {});
    return { contents: [{ uri: request.params.uri, mimeType: 'text/markdown', text }] };
  });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      {
        name: SKILL_TOOL,
        title: 'Get a skill',
        description: 'Returns one of your Gatehouse skills by name, with its instructions rendered for the given arguments. prompts/list (or resources/list) shows the names.',
        inputSchema: {
          type: 'object' as const,
          properties: {
            name: { type: 'string', description: 'The skill name, e.g. "release-notes"' },
            arguments: { type: 'object', additionalProperties: { type: 'string' }, description: 'Argument values by name; free text goes in "arguments"' },
          },
          required: ['name'],
        },
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
    ],
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (request.params.name !== SKILL_TOOL) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name.slice(0, 100)}`);
    const input = request.params.arguments ?? {};
    const name = typeof input.name === 'string' ? input.name : '';
    try {
      const { text } = await present(extra, 'tools/call', name, stringArguments(input.arguments));
      return { content: [{ type: 'text' as const, text }] };
    } catch (error) {
      // A tool's own failure is a result the model can read, not a protocol error.
      if (error instanceof McpError && error.code === ErrorCode.InvalidParams) return { content: [{ type: 'text' as const, text: error.message.replace(/^MCP error -?\d+: /, '') }], isError: true };
      throw error;
    }
  });

  return server;
}
