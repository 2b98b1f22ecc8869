// Upstream auth `oauth_user` (issue 12, item 1): a person connects their own account at a
// registered MCP server's authorization server, and the proxy calls that server with their token.
//   startConnect / completeConnect   the authorization code flow (PKCE S256, RFC 8707 resource),
//                                    the authorization server found by RFC 9728 + RFC 8414 and
//                                    Gatehouse registered there by RFC 7591 unless configured
//   handleUpstreamCallback           GET /mcp/oauth/callback on the data plane
//   grantedTarget                    a registry target acting as one person: their bearer token,
//                                    refreshed on expiry or 401, once (the proxy, health checks)
//   disconnect, connectionsOf        the dashboard's connections page
//   revocation.ts                    RFC 7009 revocation at the provider: a disconnect waits for
//                                    it, grants an administrator deleted are revoked in the background
// Every connect, disconnect, failed refresh and server revocation is an `mcp.upstream_grant` audit
// event; tokens are sealed at rest and scrubbed from whatever the proxy returns.
export { completeConnect, connectable, startConnect, type CallbackOutcome, type ConnectResult, type GrantActor } from './connect';
export { connectionsOf, disconnect, type Connection } from './disconnect';
export { UpstreamGrantRequired, UpstreamOAuthError } from './errors';
export { handleUpstreamCallback, UPSTREAM_CALLBACK_PATH } from './http';
export { connectUrlFor, grantedTarget } from './session';
