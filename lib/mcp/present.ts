/**
 * The one path by which a skill leaves Gatehouse over MCP: prompts/get, the resource read and the
 * get_skill tool all come here. It looks the skill up among those the user may see (another
 * user's private skill is simply not there), renders it with lib/skills' renderer, and writes the
 * audit event (who, skill, version, trace id, client, MCP session and method).
 */
import { countAuditEvent, appendAuditEvent, type AuditEventInput } from '@/lib/audit';
import { getVisibleSkill, renderSkill, type VisibleSkill } from '@/lib/skills';
import type { McpCaller } from './caller';

export const MCP_SERVER_NAME = 'gatehouse-skills';

/** How the skill was asked for: the MCP method and what the audit event calls it. */
export type SkillPath = 'prompts/get' | 'resources/read' | 'tools/call';

const ACTIONS: Record<SkillPath, string> = { 'prompts/get': 'skill.prompt_get', 'resources/read': 'skill.resource_read', 'tools/call': 'skill.tool_call' };

export const SKILL_TOOL = 'get_skill';

export interface SkillRequest {
  caller: McpCaller;
  path: SkillPath;
  name: string;
  /** Argument values (prompts/get, tool call); the resource is served as saved. */
  args: Record<string, string>;
  mcpSessionId: string | undefined;
  jsonRpcId: string | number | undefined;
}

export interface PresentedSkill {
  skill: VisibleSkill;
  text: string;
}

/** The skill is not one this user may see (or does not exist): the same answer for both. */
export class UnknownSkillError extends Error {
  constructor(readonly skillName: string) {
    super(`no skill named "${skillName.slice(0, 100)}" is available to you`);
    this.name = 'UnknownSkillError';
  }
}

export function skillResourceUri(name: string): string {
  return `skill://${name}/SKILL.md`;
}

/** The skill name a `skill://<name>/SKILL.md` URI names, or null. */
export function skillNameOfUri(uri: string): string | null {
  return /^skill:\/\/([a-z0-9-]{1,64})\/SKILL\.md$/.exec(uri)?.[1] ?? null;
}

function auditEvent(request: SkillRequest, outcome: 'success' | 'denied' | 'failure', skill: VisibleSkill | null, error?: Error): AuditEventInput {
  const { principal, traceId, record } = request.caller;
  const event: AuditEventInput = {
    tenant_id: principal.tenantId,
    event_type: 'mcp.tool_call',
    action: ACTIONS[request.path],
    outcome,
    trace_id: traceId,
    actor: { user_id: principal.userId, email: principal.email, roles: principal.roles, ...(principal.department ? { department: principal.department } : {}) },
    client_id: principal.clientId,
    call_source: 'mcp',
    target: { type: 'skill', ...(skill ? { id: skill.id } : {}), name: (skill?.name ?? request.name).slice(0, 500) },
    mcp: {
      server: MCP_SERVER_NAME,
      method: request.path,
      ...(request.path === 'tools/call' ? { tool: SKILL_TOOL } : {}),
      ...(request.path === 'resources/read' ? { resource_uri: skillResourceUri(request.name).slice(0, 2000) } : {}),
      ...(request.mcpSessionId ? { session_id: request.mcpSessionId.slice(0, 200) } : {}),
      ...(request.jsonRpcId !== undefined ? { jsonrpc_request_id: typeof request.jsonRpcId === 'number' ? request.jsonRpcId : request.jsonRpcId.slice(0, 200) } : {}),
      is_error: outcome !== 'success',
    },
    attributes: {
      ...(skill ? { skill_version: skill.version, skill_version_id: skill.versionId, skill_owner_id: skill.ownerId } : {}),
      ...(Object.keys(request.args).length > 0 ? { argument_names: Object.keys(request.args).sort().join(',').slice(0, 500) } : {}),
    },
  };
  if (record.ip || record.userAgent) event.origin = { ...(record.ip ? { ip: record.ip } : {}), ...(record.userAgent ? { user_agent: record.userAgent } : {}) };
  if (error) event.error = { type: error.name.slice(0, 200), message: error.message.slice(0, 4000) };
  return event;
}

/**
 * The skill as text for `request.path`: rendered with its arguments for prompts and the tool, the
 * SKILL.md as saved for the resource. Throws UnknownSkillError (audited, counted per user and
 * minute: a client may probe names in a loop) or lib/skills' SkillArgumentError (audited).
 */
export async function presentSkill(request: SkillRequest): Promise<PresentedSkill> {
  const { principal } = request.caller;
  const skill = await getVisibleSkill({ tenantId: principal.tenantId, userId: principal.userId }, request.name);
  if (!skill) {
    const error = new UnknownSkillError(request.name);
    countAuditEvent({ key: `${ACTIONS[request.path]}\u0000${principal.tenantId}\u0000${principal.userId}`, event: auditEvent(request, 'denied', null, error), tally: { skill: request.name.slice(0, 100) } });
    throw error;
  }
  let text: string;
  try {
    text = request.path === 'resources/read' ? skill.content : renderSkill(skill, request.args);
  } catch (error) {
    if (error instanceof Error) await appendAuditEvent(auditEvent(request, 'failure', skill, error));
    throw error;
  }
  await appendAuditEvent(auditEvent(request, 'success', skill));
  return { skill, text };
}
