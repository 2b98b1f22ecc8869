// The signed MCP allowlist (issue 12): manifests per approved server version, a revocation list,
// each person's allowlist, and the same servers in every client's shape. Devices import
// documents.ts, verify.ts and clients.ts only (no database).
export { ALLOWLIST_PATH, ALLOWLIST_TTL_SECONDS, MCP_JSON_PATH, type AllowlistResponse, type McpAllowlist, type McpManifest, type McpRevocationList, type ToolPolicyMap } from './documents';
export { AllowlistVerificationError, isRevoked, jwsSha256, verifyAllowlist, verifyManifest, verifyRevocationList, type AllowlistFailure, type VerifiedAllowlist } from './verify';
export { claudeCodeMcpSettings, desktopManagedMcpServers, mcpJsonDocument, type AllowlistedServer } from './clients';
export { allowlistFor, clearAllowlistCache, organisationAllowlist, type OrganisationAllowlist, proxyUrlOf, type IssuedAllowlist, type IssuedServer } from './issue';
export { ALLOWLIST_PATHS, handleAllowlistRequest } from './http';
export { claudeCodeSettingsFor, desktopServersFor, organisationMcpDistribution, type OrganisationMcpDistribution } from './distribution';
