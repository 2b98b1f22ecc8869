/**
 * The documents the organisation signs for the MCP allowlist, shared by the server that issues
 * them and the devices that verify them (gatehouse-sync bundles this file: types and constants
 * only, no imports).
 *
 * - A **manifest** per approved server version, the same for everyone in the tenant: identity,
 *   where clients connect (the proxy for remote servers, the command for local stdio ones), the
 *   tools with their schema hashes, the scope, and the allowlist sequence it was issued under.
 * - A **revocation list** per tenant: revoked servers (every version) and superseded versions of
 *   live ones, so a device holding an older manifest knows to drop it.
 * - An **allowlist** per person: which manifests are theirs (by the manifest's sha256), the tool
 *   policy Desktop should apply for them, and the revocation list it was issued with. The
 *   sequence in all three ties them together and orders them: a device never goes backwards.
 */

/** How long each signed document is good for; devices refuse expired ones. */
export const ALLOWLIST_TTL_SECONDS = 3600;

/** The scope kinds a server can be given (mirrors the McpPrincipalKind enum). */
export type ScopeKind = 'everyone' | 'role' | 'department' | 'user';

/** Desktop's tool policy values (managedMcpServers[].toolPolicy). */
export type ToolPolicyValue = 'allow' | 'ask' | 'blocked';
export type ToolPolicyMap = Record<string, ToolPolicyValue>;

export interface ManifestTool {
  name: string;
  /** SHA-256 (hex) of the tool's canonical definition, as recorded by the registry's health check. */
  schemaHash: string;
}

interface ManifestBase {
  iss: string;
  tenant: string;
  server: { id: string; name: string; description: string };
  /** The approved tool-list version of the server (increases with every approved drift). */
  version: number;
  versionId: string;
  tools: ManifestTool[];
  toolsDigest: string;
  scope: { kind: ScopeKind; subject: string }[];
  seq: number;
  iat: number;
  exp: number;
}

/** A remote server: clients connect to Gatehouse's proxy for it, never to the upstream. */
export interface RemoteManifest extends ManifestBase {
  transport: 'http';
  url: string;
  /** How the proxy reaches the upstream (information only; clients always speak Streamable HTTP to the proxy). */
  upstreamTransport: 'streamable_http' | 'sse';
}

/** A local server the device runs itself. `env` holds non-secret values only. */
export interface StdioManifest extends ManifestBase {
  transport: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
}

export type McpManifest = RemoteManifest | StdioManifest;

export interface RevokedServer {
  id: string;
  name: string;
  /** `all` for a revoked server; otherwise the superseded versions of a live one. */
  versions: 'all' | number[];
  reason?: string;
}

export interface McpRevocationList {
  iss: string;
  tenant: string;
  seq: number;
  iat: number;
  exp: number;
  servers: RevokedServer[];
}

export interface AllowlistEntry {
  id: string;
  name: string;
  version: number;
  /** SHA-256 (hex) of the manifest's compact JWS, exactly as served. */
  manifestSha256: string;
  /** The caller's effective tool policy for this server, in Desktop's shape. */
  toolPolicy: ToolPolicyMap;
}

export interface McpAllowlist {
  iss: string;
  tenant: string;
  sub: string;
  email: string;
  seq: number;
  iat: number;
  exp: number;
  servers: AllowlistEntry[];
  /** SHA-256 (hex) of the revocation list's compact JWS issued with this allowlist. */
  revocationsSha256: string;
}

/** GET /api/v1/mcp/allowlist: every part signed by the organisation key. */
export interface AllowlistResponse {
  seq: number;
  allowlist: string;
  manifests: string[];
  revocations: string;
}

export const ALLOWLIST_PATH = '/api/v1/mcp/allowlist';
export const MCP_JSON_PATH = '/api/v1/mcp/mcp.json';
