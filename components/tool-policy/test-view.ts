// What the test box shows, as plain data the browser receives (no Dates, no server imports).
import type { ActionState } from '@/lib/admin/action-state';
import type { PolicyTestResult } from '@/lib/tool-policy/explain';
import type { ToolPolicyConditions } from '@/lib/tool-policy/types';
import { describeConditions } from '@/lib/tool-policy/describe';

export interface PolicyTestView {
  decision: 'allow' | 'ask' | 'block';
  reason: string;
  failMode: 'open' | 'closed';
  rule: { id: string; description: string; who: string; target: string; conditions: string; enabled: boolean } | null;
  scope: string;
  principal: string;
  at: string;
  unknownTool: boolean;
}

export type PolicyTestState = ActionState | { status: 'done'; result: PolicyTestView };

export function policyTestView(result: PolicyTestResult): PolicyTestView {
  const { verdict, rule } = result;
  return {
    decision: verdict.decision,
    reason: verdict.reason,
    failMode: verdict.failMode,
    rule: rule ? { id: rule.id, description: rule.description, who: rule.principalLabel, target: `${rule.server}/${rule.tool}`, conditions: describeConditions(rule.conditions as ToolPolicyConditions), enabled: rule.enabled } : null,
    scope: result.scope.explanation,
    principal: `${result.principal.label} · roles: ${result.principal.roles.join(', ') || 'none'} · ${result.principal.department ?? 'no department'}`,
    at: result.at,
    unknownTool: result.unknownTool,
  };
}
