// The tool policy as the governance hooks ask it: lib/tool-policy decides, exactly as for the MCP
// proxy; this file only loads the rules and says who is calling and from where.
import { db } from '@/lib/db/client';
import { ANY_SERVER, BUILT_IN_SERVER, evaluateToolPolicy, type PolicyPrincipal, type ToolPolicyRule, type ToolPolicyVerdict } from '@/lib/tool-policy';
import { parseStoredConditions } from '@/lib/tool-policy/schema';
import type { Principal } from '@/lib/tokens';
import { policyTarget, type PolicyTarget } from './tool-names';

/** The in-scope default (no rule applies), as the audit trail and the hook's reason name it. */
export const DEFAULT_RULE = 'tool_policy.default';

export interface HookVerdict extends ToolPolicyVerdict {
  target: PolicyTarget;
  /** The deciding rule's id, or DEFAULT_RULE. */
  ruleName: string;
}

function ruleOf(row: { id: string; server: string; tool: string; principalKind: ToolPolicyRule['principalKind']; principal: string; conditions: unknown; decision: ToolPolicyRule['decision']; failMode: ToolPolicyRule['failMode']; description: string; enabled: boolean }): ToolPolicyRule {
  const conditions = parseStoredConditions(row.conditions);
  // A rule whose stored conditions no longer read cannot be known not to apply: it blocks.
  return { ...row, conditions: conditions ?? {}, decision: conditions ? row.decision : 'block' };
}

/** The tenant's rules that can speak about `server` (every enabled and disabled one; the evaluator skips disabled). */
export async function toolPolicyRules(tenantId: string, servers?: readonly string[]): Promise<ToolPolicyRule[]> {
  const rows = await db().toolPolicyRule.findMany({ where: { tenantId, ...(servers ? { server: { in: [...servers] } } : {}) }, orderBy: { createdAt: 'asc' } });
  return rows.map(ruleOf);
}

async function policyPrincipal(principal: Principal): Promise<PolicyPrincipal> {
  if (!principal.department) return { userId: principal.userId, roles: principal.roles, departmentId: null };
  const department = await db().department.findUnique({ where: { tenantId_slug: { tenantId: principal.tenantId, slug: principal.department } }, select: { id: true } });
  return { userId: principal.userId, roles: principal.roles, departmentId: department?.id ?? null };
}

/**
 * The decision for one tool call Claude Code is about to make. Built-in tools are always in
 * scope (server `claude`); an MCP tool is judged by the rules too: a registered server's scope is
 * what the allowlist delivers to the device and the proxy enforces, and a server the registry does
 * not know (a plugin's own, run locally) has no scope to check.
 */
export async function decideHookToolCall(principal: Principal, toolName: string, args: unknown, at = new Date()): Promise<HookVerdict> {
  const target = policyTarget(toolName);
  const servers = target.server === BUILT_IN_SERVER ? [BUILT_IN_SERVER, ANY_SERVER] : [target.server, ANY_SERVER];
  const [rules, who] = await Promise.all([toolPolicyRules(principal.tenantId, servers), policyPrincipal(principal)]);
  const verdict = evaluateToolPolicy({
    rules,
    principal: who,
    server: target.server,
    tool: target.tool,
    context: { callSource: 'hook', clientId: principal.clientId, at, arguments: args ?? {} },
    inScope: true,
  });
  return { ...verdict, target, ruleName: verdict.rule?.id ?? DEFAULT_RULE };
}
