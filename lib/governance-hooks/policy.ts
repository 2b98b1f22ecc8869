// The tool policy as the governance hooks ask it: lib/tool-policy decides, exactly as for the MCP
// proxy (the same rules, cache and principal); this file only says which server and tool a hook's
// tool name means and that the call comes from a hook.
import { cachedToolPolicyRules, decideToolCall, ruleNameOf, type ToolPolicyRule, type ToolPolicyVerdict } from '@/lib/tool-policy';
import type { Principal } from '@/lib/tokens';
import { policyTarget, type PolicyTarget } from './tool-names';


export interface HookVerdict extends ToolPolicyVerdict {
  target: PolicyTarget;
  /** The deciding rule's id, or lib/tool-policy's DEFAULT_RULE. */
  ruleName: string;
}

/** The tenant's enabled rules (what the managed hooks' fail modes are computed from). */
export function toolPolicyRules(tenantId: string): Promise<readonly ToolPolicyRule[]> {
  return cachedToolPolicyRules(tenantId);
}

/**
 * The decision for one tool call Claude Code is about to make. Built-in tools are always in
 * scope (server `claude`); an MCP tool is judged by the rules too: a registered server's scope is
 * what the allowlist delivers to the device and the proxy enforces, and a server the registry does
 * not know (a plugin's own, run locally) has no scope to check.
 */
export async function decideHookToolCall(principal: Principal, toolName: string, args: unknown, at = new Date()): Promise<HookVerdict> {
  const target = policyTarget(toolName);
  const verdict = await decideToolCall({
    principal,
    server: target.server,
    tool: target.tool,
    context: { callSource: 'hook', clientId: principal.clientId, at, arguments: args ?? {} },
    inScope: true,
  });
  return { ...verdict, target, ruleName: ruleNameOf(verdict) };
}
