// Per-principal tool policy: allow, ask or block for a (server, tool, principal, context).
// evaluate.ts is pure; runtime.ts decides for a verified token (proxy, hooks); admin.ts and
// explain.ts serve the dashboard and the CLI; repository.ts holds every statement.
export { createToolPolicyRule, deleteToolPolicyRule, listToolPolicyRules, principalLabels, setToolPolicyRuleEnabled, TOOL_POLICY_PERMISSION, updateToolPolicyRule, type ToolPolicyRuleView } from './admin';
export { cachedToolPolicyRules, invalidateToolPolicyCache, RULE_CACHE_MS } from './cache';
export { DEFAULT_FAIL_MODE, DEFAULT_RULE, effectiveToolPolicy, ruleNameOf, evaluateToolPolicy, toolPermission, visibleTools, type ToolListQuery, type ToolPolicyQuery } from './evaluate';
export { explainToolDecision, policyTestInput, type PolicyTestInput, type PolicyTestResult } from './explain';
export type { StoredToolPolicyRule } from './repository';
export { decideToolCall, policyPrincipalFromToken, toolPolicyFor } from './runtime';
export { describeIssues, isTimeZone, toolPolicyConditions, toolPolicyRuleInput, type ToolPolicyRuleInput } from './schema';
export * from './types';
