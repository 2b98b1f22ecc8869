// "Test this rule": what the policy decides for a person (or a made-up principal) calling a tool
// in a context, which rule decided and why — the dashboard's test box and `gatehouse mcp policy test`.
import { z } from 'zod';
import type { AdminActor } from '@/lib/admin/actor';
import { requireAdmin } from '@/lib/admin/guard';
import { getServerByName } from '@/lib/mcp/registry/read';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { isRecord } from '@/lib/platform/json';
import { audienceLabels, audienceOf, includes, resolveAudienceTarget } from '@/lib/rbac/audience';
import { UserInputError } from '@/lib/users/tenant';
import { principalLabels, TOOL_POLICY_PERMISSION, type ToolPolicyRuleView } from './admin';
import { evaluateToolPolicy } from './evaluate';
import * as repository from './repository';
import { describeIssues } from './schema';
import { BUILT_IN_SERVER, CALL_SOURCES, type PolicyPrincipal, type ToolPolicyVerdict } from './types';

const optional = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined));

export const policyTestInput = z
  .object({
    server: z.string({ error: 'give the server name' }).trim().min(1, 'give the server name'),
    tool: z.string({ error: 'give the tool name' }).trim().min(1, 'give the tool name').max(200),
    user: optional,
    department: optional,
    roles: optional.transform((value) => (value ? value.split(',').map((role) => role.trim()).filter(Boolean) : [])),
    callSource: z.enum(CALL_SOURCES, { error: `the call source is ${CALL_SOURCES.join(' or ')}` }).default('proxy'),
    clientId: optional,
    at: optional.pipe(z.iso.datetime({ offset: true, error: 'give the time as ISO 8601, like 2026-12-01T09:30:00Z' }).optional()),
    arguments: optional.transform((text, ctx) => {
      if (text === undefined) return undefined;
      try {
        const value: unknown = JSON.parse(text);
        if (isRecord(value)) return value;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'the arguments are a JSON object, like {"repository": "acme/web"}' });
      return z.NEVER;
    }),
  })
  .refine((input) => input.user || input.department || input.roles.length > 0, { path: ['user'], message: 'give a user’s email, or a department and roles to try' });

export type PolicyTestInput = z.input<typeof policyTestInput>;

export interface PolicyTestResult {
  verdict: ToolPolicyVerdict;
  rule: ToolPolicyRuleView | null;
  principal: { label: string; roles: string[]; department: string | null };
  scope: { inScope: boolean; explanation: string };
  /** The server's approved tools, when it has them and the tool tried is not one of them. */
  unknownTool: boolean;
  at: string;
}

function scopeOf(server: RegisteredServer | null, name: string, principal: PolicyPrincipal): { inScope: boolean; explanation: string } {
  if (name === BUILT_IN_SERVER) return { inScope: true, explanation: `${BUILT_IN_SERVER}: the client's built-in tools have no registration or scope; rules alone decide` };
  if (!server) return { inScope: false, explanation: `no MCP server named "${name}" is registered` };
  if (server.status === 'revoked') return { inScope: false, explanation: `"${name}" is revoked` };
  const entry = server.scope.find((scope) => includes(scope, principal));
  if (!entry) return { inScope: false, explanation: server.scope.length ? `not in the scope of "${name}" (${server.scope.map((scope) => scope.label).join(', ')})` : `"${name}" is scoped to nobody yet` };
  return { inScope: true, explanation: `in the scope of "${name}" (${entry.label})` };
}

async function principalFor(tenantId: string, input: z.output<typeof policyTestInput>): Promise<{ principal: PolicyPrincipal; label: string }> {
  const target = async (kind: 'user' | 'department' | 'role', value: string) => {
    try {
      return await resolveAudienceTarget(tenantId, { kind, value });
    } catch (error) {
      throw error instanceof UserInputError ? new UserInputError(`${kind === 'role' ? 'roles' : kind}: ${error.message}`) : error;
    }
  };
  if (input.user) {
    const user = await target('user', input.user);
    const audience = await audienceOf(tenantId, user.subject);
    if (!audience) throw new UserInputError(`user: ${input.user} is disabled, so Gatehouse refuses them before any tool policy`);
    return { principal: audience, label: input.user.toLowerCase() };
  }
  const department = input.department ? await target('department', input.department) : null;
  for (const role of input.roles) await target('role', role);
  const label = `someone in ${department ? department.label : 'no department'} with ${input.roles.length ? `roles ${input.roles.join(', ')}` : 'no role'}`;
  return { principal: { userId: '', roles: input.roles, departmentId: department?.subject ?? null }, label };
}

export async function explainToolDecision(actor: AdminActor, raw: unknown): Promise<PolicyTestResult> {
  await requireAdmin(actor, TOOL_POLICY_PERMISSION, undefined, 'tool_policy.test');
  const parsed = policyTestInput.safeParse(raw);
  if (!parsed.success) throw new UserInputError(describeIssues(parsed.error));
  const input = parsed.data;
  const at = input.at ? new Date(input.at) : new Date();
  const [{ principal, label }, rules, server] = await Promise.all([
    principalFor(actor.tenantId, input),
    // Straight from the database, not the cache: the answer reflects the rule just saved.
    repository.loadEnabledRules(actor.tenantId),
    input.server === BUILT_IN_SERVER ? Promise.resolve(null) : getServerByName(actor.tenantId, input.server),
  ]);
  const scope = scopeOf(server, input.server, principal);
  const verdict = evaluateToolPolicy({ rules, principal, server: input.server, tool: input.tool, context: { callSource: input.callSource, clientId: input.clientId ?? null, at, arguments: input.arguments }, inScope: scope.inScope });
  const decidingRule = verdict.rule ? rules.find((rule) => rule.id === verdict.rule?.id) : undefined;
  const [ruleLabel] = decidingRule ? await principalLabels(actor.tenantId, [decidingRule]) : [];
  const [departmentLabel] = principal.departmentId ? await audienceLabels(actor.tenantId, [{ kind: 'department', subject: principal.departmentId }]) : [];
  const approved = server?.approvedVersion?.tools.map((tool) => tool.name) ?? [];
  return {
    verdict: scope.inScope ? verdict : { ...verdict, reason: `${input.server}/${input.tool} blocked: ${scope.explanation} (servers are denied to everyone outside their scope)` },
    rule: decidingRule && ruleLabel ? { ...decidingRule, principalLabel: ruleLabel } : null,
    principal: { label, roles: principal.roles.slice(), department: departmentLabel ?? null },
    scope,
    unknownTool: approved.length > 0 && !approved.includes(input.tool),
    at: at.toISOString(),
  };
}
