/**
 * The proxy's side of a session towards the registered server: the real SDK Client over the
 * server's transport (Streamable HTTP or the older HTTP+SSE), carrying the credentials the
 * registry holds for it. The client's own token never goes upstream (no token passthrough);
 * the upstream secret never comes back: whatever the proxy returns passes through redact().
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamTarget } from '@/lib/mcp/registry';

export interface UpstreamConnection {
  client: Client;
  capabilities: ServerCapabilities;
  instructions: string | undefined;
  /** Removes every injected credential from text or JSON on its way back to the client or the audit trail. */
  redact<T>(value: T): T;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 20_000;
const REDACTED = '[redacted by Gatehouse]';
/** Scrubbing a very short value would mangle ordinary text and protect nothing. */
const MIN_SECRET_LENGTH = 6;

function transportFor(target: UpstreamTarget): Transport {
  // The registry's fetch checks every connection's address against the server's network policy (SSRF).
  const options = { requestInit: { headers: { ...target.headers } }, fetch: target.fetch };
  return target.transport === 'sse' ? new SSEClientTransport(target.url, options) : new StreamableHTTPClientTransport(target.url, options);
}

/** A redactor over `secrets`: JSON values are walked, strings scrubbed; other values pass as they are. */
export function redactor(secrets: readonly string[]): <T>(value: T) => T {
  const scrub = (text: string): string => secrets.reduce((result, secret) => result.replaceAll(secret, REDACTED), text);
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [scrub(key), walk(item)]));
    return value;
  };
  return <T>(value: T): T => (secrets.length === 0 ? value : (walk(value) as T));
}

/** Connects (initialize, initialized) or throws; `onNotification` gets what the upstream sends unprompted. */
export async function connectUpstream(target: UpstreamTarget, onNotification: (method: string) => void): Promise<UpstreamConnection> {
  const client = new Client({ name: 'gatehouse-mcp-proxy', version: '1.0.0' }, { capabilities: {} });
  client.fallbackNotificationHandler = async (notification) => onNotification(notification.method);
  const redact = redactor(target.secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH));
  const transport = transportFor(target);
  try {
    await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new UpstreamUnavailableError(redact(error instanceof Error ? error.message : String(error)));
  }
  return {
    client,
    capabilities: client.getServerCapabilities() ?? {},
    instructions: client.getInstructions(),
    redact,
    close: async () => {
      // Streamable HTTP sessions are ended explicitly (DELETE), so the upstream frees them now.
      if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    },
  };
}

/** The upstream could not be reached or refused the proxy's initialize; the message is already redacted. */
export class UpstreamUnavailableError extends Error {
  override name = 'UpstreamUnavailableError';
}
