// Governance hooks: Claude Code's hooks answered by Gatehouse (tool policy for every tool the
// client runs locally, and every tool call in the audit trail), and the settings that install them.
export { GOVERNANCE_HOOK_PATHS, handleGovernanceHook } from './routes';
export { governanceHookSettings, preToolUseEntries, HOOK_TIMEOUT_SECONDS, HOOK_TOKEN_ENV, type HookTransport } from './settings';
export { HELPER_HOOK_TIMEOUT_SECONDS, HOOK_CALL_SOURCE, HOOK_EVENTS, HOOK_PATHS, HOOKS_ROOT, type HookEvent } from './paths';
export { decideHookToolCall, toolPolicyRules, type HookVerdict } from './policy';
export { policyTarget, ruleToolPattern } from './tool-names';
