// Governance hooks: Claude Code's HTTP hooks answered by Gatehouse (tool policy for every tool the
// client runs locally, and every tool call in the audit trail), and the settings that install them.
export { GOVERNANCE_HOOK_PATHS, handleGovernanceHook } from './routes';
export { governanceHookSettings, preToolUseEntries, HOOK_EVENTS, HOOK_PATHS, HOOK_TIMEOUT_SECONDS, HOOK_TOKEN_ENV, HOOKS_ROOT, type HookEvent } from './settings';
export { decideHookToolCall, toolPolicyRules, type HookVerdict } from './policy';
export { policyTarget, ruleToolPattern } from './tool-names';
export { HOOK_CALL_SOURCE } from './evidence';
