import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { cappedFetch } from './capped-fetch';
import type { UpstreamTarget } from './upstream';

/** How long one check may take in all (initialize and every tools/list page). */
export const CHECK_TIMEOUT_MS = 15_000;
const MAX_PAGES = 50;
/** What one check reads from the server in all; a server answering more is cut off (a failed check). */
export const CHECK_MAX_BYTES = 8 * 1024 * 1024;

export type HealthCheckResult =
  | { ok: true; tools: Tool[]; latencyMs: number; serverName: string | null; protocolVersion: string | null }
  | { ok: false; error: string; latencyMs: number };

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/**
 * The health check: connects to the server with the real MCP client (Streamable HTTP, or SSE for
 * sse servers) through the target's SSRF-checked fetch and credentials, runs `initialize` and
 * every page of `tools/list`, and disconnects. Never throws: a failure is a result, its message
 * scrubbed of the target's secrets and capped.
 */
export async function checkUpstream(target: UpstreamTarget, timeoutMs = CHECK_TIMEOUT_MS): Promise<HealthCheckResult> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(timeoutMs);
  const options = { fetch: cappedFetch(target.fetch, CHECK_MAX_BYTES), requestInit: { headers: { ...target.headers } } };
  const transport = target.transport === 'sse' ? new SSEClientTransport(target.url, options) : new StreamableHTTPClientTransport(target.url, options);
  const client = new Client({ name: 'gatehouse-registry-check', version: '1.0.0' }, { capabilities: {} });
  // Request timeouts do not cover opening an SSE stream that never names its endpoint: the
  // deadline ends the whole check whatever it is waiting for.
  const timedOut = new Promise<never>((_, reject) => deadline.addEventListener('abort', () => reject(deadline.reason as Error), { once: true }));
  timedOut.catch(() => undefined);
  try {
    return await Promise.race([listAll(client, transport, deadline, timeoutMs, started), timedOut]);
  } catch (error) {
    const message = deadline.aborted ? `no answer within ${timeoutMs} ms` : describe(error);
    return { ok: false, error: target.redact(message).slice(0, 1000), latencyMs: Math.round(performance.now() - started) };
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function listAll(client: Client, transport: SSEClientTransport | StreamableHTTPClientTransport, deadline: AbortSignal, timeoutMs: number, started: number): Promise<HealthCheckResult> {
  await client.connect(transport, { signal: deadline, timeout: timeoutMs });
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await client.listTools(cursor ? { cursor } : {}, { signal: deadline, timeout: timeoutMs });
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (!cursor) break;
    if (page === MAX_PAGES - 1) throw new Error(`tools/list has more than ${MAX_PAGES} pages`);
  }
  const info = client.getServerVersion();
  return { ok: true, tools, latencyMs: Math.round(performance.now() - started), serverName: info?.name ?? null, protocolVersion: transport instanceof StreamableHTTPClientTransport ? (transport.protocolVersion ?? null) : null };
}
