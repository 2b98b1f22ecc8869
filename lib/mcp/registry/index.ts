// The MCP server registry (issue 12): remote (Streamable HTTP, SSE) and device-run (stdio) servers,
// who they are for, the tool lists health checks found (drift held for approval), upstream
// credentials sealed at rest, and the allowlist sequence every change bumps.
//
// Changes (each needs mcp.admin tenant-wide, records an admin.change event and bumps the sequence):
//   registerServer, updateServer, updateServerScope, saveEditedScope, revokeServer, resetUpstreamOAuth, checkServer, approveVersion,
//   rejectVersion, recordStdioTools.
// Reads: getServerByName, listServers, serverVersions, serversInScopeFor, approvedTools,
//   allowlistSequence, accessSequences (with the audience sequence the database moves when people's
//   roles or departments change). For the proxy: upstreamTarget (URL, injected headers, SSRF-checked
//   fetch, the redactor of what the upstream says) and messageCappedFetch.
// Other capabilities writing in the same transaction as their own change (tool policy) call
// bumpAllowlistSequence(tx, tenantId) with their Prisma transaction.
export { checkServer, approveVersion, recordStdioTools, registerServer, rejectVersion, resetUpstreamOAuth, revokeServer, saveEditedScope, updateServer, updateServerScope, type CheckOutcome, type ScopeChange } from './registry';
export { accessSequences, allowlistSequence, approvedTools, getServerById, getServerByName, listServers, serverVersions, serversInScopeFor } from './read';
export { bumpAllowlistSequence, type Tx } from './repository';
export { messageCappedFetch, type MessageCap } from './capped-fetch';
export { checkUpstream, CHECK_TIMEOUT_MS, type HealthCheckResult } from './health';
export { upstreamTarget, UpstreamTarget, type UpstreamOAuthClient } from './upstream';
export { recordTools, RELAYED_REQUEST_NAMES, toolChanges, toolsDigest, TOOL_LIMITS } from './tools';
export { SERVER_NAME, registerServerSchema, scopeTargetSchema, updateServerSchema, type RegisterServerInput, type ScopeTarget, type UpdateServerInput, type UpstreamAuthInput } from './validate';
export type { McpTransportKind, PublicOAuthConfig, RecordedTool, RegisteredServer, RegistryActor, ScopeEntry, ServerVersion, UpstreamAuthKind, VersionStatus } from './types';
export { audienceOf, type Audience } from '@/lib/rbac/audience';
