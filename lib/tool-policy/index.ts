// Per-principal tool policy: allow, ask or block for a (server, tool, principal, context).
export { DEFAULT_FAIL_MODE, effectiveToolPolicy, evaluateToolPolicy, toolPermission, visibleTools, type ToolListQuery, type ToolPolicyQuery } from './evaluate';
export { describeIssues, isTimeZone, toolPolicyConditions, toolPolicyRuleInput, type ToolPolicyRuleInput } from './schema';
export * from './types';
