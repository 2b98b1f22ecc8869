/**
 * Which tools a proxied session may expose: those of the server's approved version that the
 * upstream still offers unchanged. A tool the upstream added, or changed (schema, description,
 * annotations) since approval, is drift waiting for an administrator, and is neither listed
 * nor callable; the client is shown the definition that was approved.
 */
import { ErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { approvedTools, recordTools, type RegisteredServer } from '@/lib/mcp/registry';
import type { UpstreamConnection } from './upstream';

/** The upstream's current tool hashes by name, as the session last read them. */
export interface LiveTools {
  tools: { hashes: Map<string, string>; readAt: number } | null;
}

/** Re-read at least this often even without list_changed: an upstream may change without saying so. */
const LIVE_TOOLS_TTL_MS = 60_000;
const MAX_PAGES = 20;

async function readLiveTools(upstream: UpstreamConnection, signal: AbortSignal): Promise<Map<string, string>> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result = await upstream.client.listTools(cursor ? { cursor } : undefined, { signal });
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  try {
    // Hashed exactly as the registry hashed the approved version, so equal hashes mean unchanged.
    return new Map(recordTools(tools).map((tool) => [tool.name, tool.schemaHash]));
  } catch (error) {
    throw new McpError(ErrorCode.InternalError, `the upstream's tool list cannot be checked against the approved one: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function exposedTools(upstream: UpstreamConnection, live: LiveTools, server: RegisteredServer, signal: AbortSignal): Promise<Tool[]> {
  if (!live.tools || Date.now() - live.tools.readAt > LIVE_TOOLS_TTL_MS) live.tools = { hashes: await readLiveTools(upstream, signal), readAt: Date.now() };
  const hashes = live.tools.hashes;
  return approvedTools(server)
    .filter((tool) => hashes.get(tool.name) === tool.schemaHash)
    .map(({ schemaHash: _schemaHash, ...definition }) => definition as Tool);
}
