/**
 * The proxy's side of a session towards the registered server: the real SDK Client over the
 * server's transport (Streamable HTTP or the older HTTP+SSE), carrying the credentials the
 * registry holds for it. The client's own token never goes upstream (no token passthrough);
 * the upstream secret never comes back: whatever the proxy returns passes through redact()
 * (the registry's UpstreamTarget.redact).
 *
 * It declares upstream what the proxy's own client declared of sampling, elicitation and roots,
 * so the upstream asks only what that client can answer, and hands those requests to `relay`.
 * No one message from the upstream may pass MAX_UPSTREAM_MESSAGE_BYTES (messageCappedFetch).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SseError, SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type ClientCapabilities,
  type ClientNotification,
  type ClientRequest,
  type Notification,
  type Request as McpRequest,
  type Result,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { messageCappedFetch, type UpstreamTarget } from '@/lib/mcp/registry';
import { UpstreamGrantRequired } from '@/lib/mcp/upstream-oauth';

export interface UpstreamConnection {
  client: Client;
  capabilities: ServerCapabilities;
  instructions: string | undefined;
  /** Removes every injected credential from text or JSON on its way back to the client or the audit trail. */
  redact<T>(value: T): T;
  close(): Promise<void>;
}

/** The requests an upstream may make of the client, when the client declared it can answer them. */
export type RelayedMethod = 'sampling/createMessage' | 'elicitation/create' | 'roots/list';

export interface UpstreamHandlers {
  /** What the upstream sends unprompted (list changes, elicitation completions). */
  onNotification(notification: Notification): void;
  /** A request of the upstream's to relay to the client; resolves with the client's answer. */
  relay(method: RelayedMethod, request: McpRequest, extra: RequestHandlerExtra<ClientRequest | ClientNotification, ServerRequest | ServerNotification>): Promise<Result>;
  /** The upstream session is gone (the upstream forgot it, or its transport closed): the proxied session must end. */
  onLost(reason: string): void;
}

const CONNECT_TIMEOUT_MS = 20_000;
/** The largest message the proxy takes from an upstream (a tool result, a resource, one notification). */
export const MAX_UPSTREAM_MESSAGE_BYTES = 8 * 1024 * 1024;
/** JSON-RPC error code of an upstream answer larger than MAX_UPSTREAM_MESSAGE_BYTES (implementation-defined server range). */
export const ANSWER_TOO_LARGE = -32004;

/** What the proxy relays of a client's capabilities: the server→client requests it can pass on. */
export function relayedCapabilities(declared: ClientCapabilities | undefined): ClientCapabilities {
  const relayed: ClientCapabilities = {};
  if (declared?.sampling) relayed.sampling = declared.sampling;
  if (declared?.elicitation) relayed.elicitation = declared.elicitation;
  if (declared?.roots) relayed.roots = declared.roots;
  return relayed;
}

function transportFor(target: UpstreamTarget): Transport {
  // The registry's fetch checks every connection's address against the server's network policy
  // (SSRF); on top of it no one message may be larger than the proxy holds.
  const fetch = messageCappedFetch(target.fetch, {
    maxBytes: MAX_UPSTREAM_MESSAGE_BYTES,
    error: { code: ANSWER_TOO_LARGE, message: `the upstream's answer is larger than ${MAX_UPSTREAM_MESSAGE_BYTES} bytes, more than Gatehouse relays; nothing of it was passed on` },
    onOversized: ({ requestId }) =>
      console.warn(`mcp proxy: ${target.name} sent a message over ${MAX_UPSTREAM_MESSAGE_BYTES} bytes (${requestId === undefined ? 'dropped from its stream' : `answered request ${String(requestId)} with an error`})`),
  });
  const options = { requestInit: { headers: { ...target.headers } }, fetch };
  return target.transport === 'sse' ? new SSEClientTransport(target.url, options) : new StreamableHTTPClientTransport(target.url, options);
}

/** A 404 on the session's own id: the upstream no longer knows the session (restarted, expired it). */
export function isSessionGone(error: unknown): boolean {
  return error instanceof StreamableHTTPError && error.code === 404;
}

/** Connects (initialize, initialized) or throws. */
export async function connectUpstream(target: UpstreamTarget, clientCapabilities: ClientCapabilities, handlers: UpstreamHandlers): Promise<UpstreamConnection> {
  const capabilities = relayedCapabilities(clientCapabilities);
  const client = new Client({ name: 'gatehouse-mcp-proxy', version: '1.0.0' }, { capabilities });
  client.fallbackNotificationHandler = async (notification) => handlers.onNotification(notification);
  if (capabilities.sampling) client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => handlers.relay('sampling/createMessage', request, extra) as never);
  if (capabilities.elicitation) client.setRequestHandler(ElicitRequestSchema, (request, extra) => handlers.relay('elicitation/create', request, extra) as never);
  if (capabilities.roots) client.setRequestHandler(ListRootsRequestSchema, (request, extra) => handlers.relay('roots/list', request, extra) as never);
  const redact = <T>(value: T): T => target.redact(value);
  const transport = transportFor(target);
  try {
    await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
  } catch (error) {
    await client.close().catch(() => undefined);
    // No usable grant (refresh refused, token rejected): the person must connect again, not "unavailable".
    if (error instanceof UpstreamGrantRequired) throw error;
    throw new UpstreamUnavailableError(redact(error instanceof Error ? error.message : String(error)));
  }
  let closing = false;
  // Streamable HTTP: the GET stream's reconnection, or any request, meeting a 404 on the session
  // id. HTTP+SSE: the session is its event stream, so the stream breaking ends it (reconnecting
  // would silently start an uninitialized session at the upstream).
  client.onerror = (error) => {
    if (isSessionGone(error)) handlers.onLost(`the upstream no longer knows the session (${redact(error.message).slice(0, 300)})`);
    else if (transport instanceof SSEClientTransport && error instanceof SseError) handlers.onLost(`the upstream's event stream broke (${redact(error.message).slice(0, 300)})`);
  };
  client.onclose = () => {
    if (!closing) handlers.onLost('the connection to the upstream closed');
  };
  return {
    client,
    capabilities: client.getServerCapabilities() ?? {},
    instructions: client.getInstructions(),
    redact,
    close: async () => {
      closing = true;
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
