import type { McpManifest, RevokedServer, ToolPolicyMap } from './documents';

/**
 * The allowlist in each client's own shape, generated from manifests (signed by the server, or
 * verified on the device) so every client gets the same servers at the same URLs. Pure: the sync
 * agent bundles it to write managed-mcp.json from what it verified.
 */

export interface AllowlistedServer {
  manifest: McpManifest;
  toolPolicy: ToolPolicyMap;
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** One server as `.mcp.json` and managed-mcp.json describe it (Claude Code). */
export type McpJsonServer = { type: 'http'; url: string } | { type: 'stdio'; command: string; args: string[]; env: Record<string, string> };

function mcpJsonServer(manifest: McpManifest): McpJsonServer {
  if (manifest.transport === 'stdio') return { type: 'stdio', command: manifest.command, args: manifest.args, env: manifest.env };
  return { type: 'http', url: manifest.url };
}

/**
 * `{"mcpServers": {...}}`: Claude Code's managed-mcp.json (which, while it exists, is the only
 * source of MCP servers on the machine) and a plugin's `.mcp.json`. Remote servers point at the
 * proxy; Claude Code signs in to it with OAuth as the MCP authorization spec describes.
 */
export function mcpJsonDocument(servers: readonly AllowlistedServer[]): { mcpServers: Record<string, McpJsonServer> } {
  const mcpServers: Record<string, McpJsonServer> = {};
  for (const { manifest } of [...servers].sort((a, b) => a.manifest.server.name.localeCompare(b.manifest.server.name))) mcpServers[manifest.server.name] = mcpJsonServer(manifest);
  return { mcpServers };
}

/** Claude Desktop's managedMcpServers entries (also what Cowork's Code sessions get). */
export function desktopManagedMcpServers(servers: readonly AllowlistedServer[]): { [key: string]: Json }[] {
  return servers.map(({ manifest, toolPolicy }) => {
    const entry: { [key: string]: Json } =
      manifest.transport === 'stdio'
        ? { name: manifest.server.name, transport: 'stdio', command: manifest.command, args: manifest.args, env: manifest.env }
        : { name: manifest.server.name, transport: 'http', url: manifest.url, oauth: true };
    if (Object.keys(toolPolicy).length) entry.toolPolicy = { ...toolPolicy };
    return entry;
  });
}

/** The upstream's URL and its whole origin, unless that origin is Gatehouse's own (the proxy lives there). */
function upstreamPatterns(url: string, proxyOrigin: string): string[] {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return [url];
  }
  return origin === proxyOrigin ? [url] : [url, `${origin}/*`];
}

export interface ClaudeCodeMcpInput {
  /** Delivered as managedMcpServers (remote ones; Claude Code refuses others there). */
  managed: readonly AllowlistedServer[];
  /** Allowed when someone adds them by hand (their proxy URL or command). */
  allowed: readonly McpManifest[];
  upstreamUrls: readonly string[];
  revoked: readonly RevokedServer[];
  proxyUrlOf: (name: string) => string;
}

/**
 * Claude Code's managed settings for the allowlist:
 * - `managedMcpServers`: remote servers at the proxy (Claude Code accepts only http/sse there;
 *   local servers reach it through managed-mcp.json, written by gatehouse-sync);
 * - `allowedMcpServers`: the allowed servers by proxy URL or command, so a server someone adds by
 *   hand loads only if it is one of them (an empty list: none of their own);
 * - `deniedMcpServers`: every registered upstream (its URL and its origin), so nobody reaches one
 *   around the proxy, and the proxy URL of each revoked server. Deny wins over allow.
 */
export function claudeCodeMcpSettings(input: ClaudeCodeMcpInput): { [key: string]: Json } {
  const managed: { [key: string]: Json } = {};
  for (const { manifest } of input.managed) if (manifest.transport === 'http') managed[manifest.server.name] = { type: 'http', url: manifest.url };
  const allowed: Json[] = input.allowed.map((manifest): JsonObject => (manifest.transport === 'stdio' ? { serverCommand: [manifest.command, ...manifest.args] } : { serverUrl: manifest.url }));
  const denied = new Set<string>();
  const proxyOrigin = new URL(input.proxyUrlOf('x')).origin;
  for (const url of input.upstreamUrls) for (const pattern of upstreamPatterns(url, proxyOrigin)) denied.add(pattern);
  for (const entry of input.revoked) if (entry.versions === 'all') denied.add(input.proxyUrlOf(entry.name));
  const settings: { [key: string]: Json } = { allowedMcpServers: allowed };
  if (Object.keys(managed).length) settings.managedMcpServers = managed;
  if (denied.size) settings.deniedMcpServers = [...denied].sort().map((serverUrl) => ({ serverUrl }));
  return settings;
}
