// Tool policy where calls happen: the MCP proxy and the governance hook endpoints hold a verified
// token's Principal; these load the tenant's rules (cached) and decide.
import type { Principal } from '@/lib/tokens';
import { cachedToolPolicyRules } from './cache';
import { effectiveToolPolicy, evaluateToolPolicy } from './evaluate';
import { departmentIdBySlug } from './repository';
import type { ClientToolPermission, PolicyPrincipal, ToolCallContext, ToolPolicyVerdict } from './types';

// A department's slug never changes once made (lib/admin/departments), so slug → id is cached for
// the life of the process; a missing department is looked up again next time.
const departmentIds = new Map<string, string>();

/** Tokens carry the department's slug and role labels; rules name departments by id. */
export async function policyPrincipalFromToken(principal: Pick<Principal, 'userId' | 'tenantId' | 'department' | 'roles'>): Promise<PolicyPrincipal> {
  let departmentId: string | null = null;
  if (principal.department) {
    const key = `${principal.tenantId}/${principal.department}`;
    departmentId = departmentIds.get(key) ?? (await departmentIdBySlug(principal.tenantId, principal.department));
    if (departmentId) departmentIds.set(key, departmentId);
  }
  return { userId: principal.userId, roles: principal.roles, departmentId };
}

type TokenPrincipal = Pick<Principal, 'userId' | 'tenantId' | 'department' | 'roles'>;

/** The decision for one call (tools/call through the proxy, PreToolUse through a hook). */
export async function decideToolCall(query: { principal: TokenPrincipal; server: string; tool: string; context: ToolCallContext; inScope: boolean }): Promise<ToolPolicyVerdict> {
  const [principal, rules] = await Promise.all([policyPrincipalFromToken(query.principal), cachedToolPolicyRules(query.principal.tenantId)]);
  return evaluateToolPolicy({ rules, principal, server: query.server, tool: query.tool, context: query.context, inScope: query.inScope });
}

/** Desktop's toolPolicy for the caller on one server. */
export async function toolPolicyFor(query: { principal: TokenPrincipal; server: string; tools: readonly string[]; context: Omit<ToolCallContext, 'arguments'>; inScope: boolean }): Promise<Record<string, ClientToolPermission>> {
  const [principal, rules] = await Promise.all([policyPrincipalFromToken(query.principal), cachedToolPolicyRules(query.principal.tenantId)]);
  return effectiveToolPolicy({ rules, principal, server: query.server, tools: query.tools, context: query.context, inScope: query.inScope });
}
