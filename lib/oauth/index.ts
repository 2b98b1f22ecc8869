// The identity plane: OAuth 2 / OIDC issuer for Claude Code (device flow), MCP clients and
// connectors (authorization code + PKCE, dynamic registration) and admin-created clients.
export { routeOAuth, OAUTH_PATHS, OAUTH_ROUTES } from './routes';
export { configuredIssuer, gatewayAudience, endpointsFor } from './issuer';
export { authorizationServerMetadata, openIdConfiguration } from './metadata';
export { createClient, listClients, registerDynamicClient, setClientDisabled, findClient, type ClientSummary, type NewClient, type CreatedClient } from './clients';
export { revokeSession, revokeToken, revokeUserSessions, listUserSessions, type SessionSummary, type RevocationReason } from './sessions';
export { mintAccessToken, type MintRequest, type MintedToken } from './mint';
export { pruneExpiredOAuthState } from './prune';
export { rotateKeys } from './keys';
export { oauthSettings } from './config';
export { SUPPORTED_SCOPES } from './scopes';
export { revokeUser } from '@/lib/users/revoke';
