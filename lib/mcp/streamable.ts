/**
 * Request handling both MCP endpoints share around the SDK's Streamable HTTP server transport:
 * reading the JSON body with a cap, telling an initialize (a new session) from the rest, and
 * the auth info the transport hands every request handler.
 */
import { randomUUID } from 'node:crypto';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { readCappedText } from '@/lib/http/capped-body';
import { sessionIdPrefix } from '@/lib/http/peers';
import { isRecord } from '@/lib/platform/json';
import type { McpCaller } from './caller';
import { McpHttpError } from './errors';

export const MAX_MCP_BODY_BYTES = 1024 * 1024;

export async function readMcpJson(request: Request): Promise<unknown> {
  // Read with a cap: a signed-in caller must not be able to make us hold an endless body.
  const text = await readCappedText(request, MAX_MCP_BODY_BYTES);
  if (text === null) throw new McpHttpError(413, `the request body is over ${MAX_MCP_BODY_BYTES} bytes`);
  try {
    return JSON.parse(text);
  } catch {
    throw new McpHttpError(400, 'the body is not JSON', {}, -32700);
  }
}

/**
 * A new session's id. With several web processes on one port it names this one, so the others
 * forward the session's later requests here, where its transport lives (lib/http/peers.ts).
 */
export function newMcpSessionId(): string {
  return `${sessionIdPrefix()}${randomUUID()}`;
}

/** The initialize request among the body's messages, if there is one. */
function initializeOf(body: unknown): { params?: unknown } | undefined {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  return messages.find((message) => typeof message === 'object' && message !== null && (message as { method?: unknown }).method === 'initialize') as { params?: unknown } | undefined;
}

export function isInitialize(body: unknown): boolean {
  return initializeOf(body) !== undefined;
}

/** The capabilities the client declares in the body's initialize ({} when it declares none). */
export function declaredClientCapabilities(body: unknown): ClientCapabilities {
  const declared = (initializeOf(body)?.params as { capabilities?: unknown } | undefined)?.capabilities;
  return isRecord(declared) ? (declared as ClientCapabilities) : {};
}

/** What request handlers get as `extra.authInfo`: never the token itself, and `extra` for the endpoint's own context. */
export function mcpAuthInfo(caller: McpCaller, extra: Record<string, unknown>): AuthInfo {
  const { principal } = caller;
  return { token: '', clientId: principal.clientId, scopes: principal.scopes, expiresAt: Math.floor(principal.expiresAt.getTime() / 1000), extra: { caller, ...extra } };
}

export function assertMcpMethod(request: Request): void {
  if (!['GET', 'POST', 'DELETE'].includes(request.method)) throw new McpHttpError(405, 'use POST, GET or DELETE', { allow: 'GET, POST, DELETE' });
}
