/**
 * Proxied MCP sessions of this process: per connected client, the SDK server it talks to
 * (Streamable HTTP) and the upstream connection behind it, bound to the user and server that
 * opened it. Every request re-checks access (access.ts): a revoked server, or a caller no
 * longer in its scope, ends the session on its next request. Idle sessions and those whose
 * sign-in ended are swept, closing their upstream connection.
 */
import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { upstreamTarget, type RegisteredServer } from '@/lib/mcp/registry';
import { onDrain, runInBackground } from '@/lib/platform/background';
import { revocationView } from '@/lib/tokens';
import { UserInputError } from '@/lib/users/tenant';
import type { McpCaller } from '../caller';
import { McpHttpError } from '../errors';
import { proxiedServerName } from '../resource';
import { assertMcpMethod, isInitialize, MAX_MCP_BODY_BYTES, mcpAuthInfo, readMcpJson } from '../streamable';
import { resolveAccess, type ProxyAccess } from './access';
import { countSessionRefusal } from './evidence';
import { createProxyServer, type ProxySessionServer } from './server';
import { connectUpstream, UpstreamUnavailableError, type UpstreamConnection } from './upstream';

interface ProxySession {
  id: string;
  userId: string;
  serverId: string;
  proxied: ProxySessionServer;
  transport: WebStandardStreamableHTTPServerTransport;
  upstream: UpstreamConnection;
  lastSeen: number;
  signInId: string;
  tokenExpiresAt: number;
}

const IDLE_MS = 30 * 60_000;
const MAX_SESSIONS_PER_USER = 20;

const sessions = new Map<string, ProxySession>();
let sweeper: NodeJS.Timeout | null = null;

async function closeSession(session: ProxySession): Promise<void> {
  sessions.delete(session.id);
  await session.transport.close().catch(() => undefined);
  await session.upstream.close();
}

async function sweep(): Promise<void> {
  const now = Date.now();
  const view = await revocationView();
  for (const session of [...sessions.values()]) {
    const signedOut = session.tokenExpiresAt <= now || view.revokedSessions.has(session.signInId) || view.disabledUsers.has(session.userId);
    if (now - session.lastSeen > IDLE_MS || signedOut) await closeSession(session);
  }
}

function ensureSweeper(): void {
  if (sweeper) return;
  // On shutdown, end each upstream session rather than leave it to the upstream's idle timeout.
  onDrain('mcp proxy: sessions', () => runInBackground('mcp proxy: closing sessions', closeProxySessions));
  sweeper = setInterval(() => void sweep().catch((error: Error) => console.error(`mcp proxy: session sweep failed: ${error.message}`)), 30_000);
  sweeper.unref();
}

function limitUserSessions(userId: string): void {
  const own = [...sessions.values()].filter((session) => session.userId === userId).sort((a, b) => a.lastSeen - b.lastSeen);
  for (const session of own.slice(0, Math.max(0, own.length - MAX_SESSIONS_PER_USER + 1))) void closeSession(session);
}

/** What the upstream announces unprompted, relayed to the client: its list changes. */
function relay(session: ProxySession | undefined, method: string): void {
  if (!session) return;
  const { proxied } = session;
  let sent: Promise<void> | null = null;
  if (method === 'notifications/tools/list_changed') {
    proxied.toolsChanged();
    sent = proxied.server.sendToolListChanged();
  } else if (method === 'notifications/resources/list_changed') sent = proxied.server.sendResourceListChanged();
  else if (method === 'notifications/prompts/list_changed') sent = proxied.server.sendPromptListChanged();
  void sent?.catch(() => undefined);
}

async function connect(caller: McpCaller, server: RegisteredServer, onNotification: (method: string) => void): Promise<UpstreamConnection> {
  const refuse = (rule: string, status: number, message: string): never => {
    countSessionRefusal({ caller, serverName: server.name, serverId: server.id, rule, reason: message, status });
    throw new McpHttpError(status, message);
  };
  if (server.upstreamAuth === 'oauth_user') {
    // The user's own sign-in at the upstream (McpUpstreamGrant) is not something this proxy can obtain yet.
    refuse('mcp_proxy.upstream_grant', 403, `"${server.name}" acts on your behalf at its provider: connect your account to it in Gatehouse first (signing in to an upstream through the proxy is not available on this Gatehouse)`);
  }
  let target;
  try {
    target = await upstreamTarget(server);
  } catch (error) {
    if (error instanceof UserInputError) refuse('mcp_proxy.upstream_unavailable', 502, `"${server.name}" cannot be reached through Gatehouse: ${error.message}`);
    throw error;
  }
  try {
    return await connectUpstream(target, onNotification);
  } catch (error) {
    if (error instanceof UpstreamUnavailableError) {
      console.error(`mcp proxy: connecting to ${server.name} failed: ${error.message}`);
      refuse('mcp_proxy.upstream_unavailable', 502, `"${server.name}" did not answer Gatehouse's connection (${error.message.slice(0, 300)})`);
    }
    throw error;
  }
}

async function openSession(request: Request, caller: McpCaller, access: ProxyAccess, body: unknown): Promise<Response> {
  ensureSweeper();
  const { principal } = caller;
  limitUserSessions(principal.userId);
  let id: string | undefined;
  const upstream = await connect(caller, access.server, (method) => relay(id ? sessions.get(id) : undefined, method));
  const proxied = createProxyServer(upstream);
  const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    maxRequestBodySize: MAX_MCP_BODY_BYTES,
    onsessioninitialized: (sessionId) => {
      id = sessionId;
      sessions.set(sessionId, { id: sessionId, userId: principal.userId, serverId: access.server.id, proxied, transport, upstream, lastSeen: Date.now(), signInId: principal.sessionId, tokenExpiresAt: principal.expiresAt.getTime() });
    },
    onsessionclosed: (sessionId) => {
      const session = sessions.get(sessionId);
      if (session) void closeSession(session);
    },
  });
  await proxied.server.connect(transport);
  const response = await transport.handleRequest(request, { parsedBody: body, authInfo: mcpAuthInfo(caller, { access }) });
  // An initialize that did not open a session (malformed) leaves nothing to keep.
  if (!id) {
    await transport.close().catch(() => undefined);
    await upstream.close();
  }
  return response;
}

/** POST, GET and DELETE /mcp/servers/{name} for an authenticated caller holding mcp.use. */
export async function handleProxy(request: Request, caller: McpCaller): Promise<Response> {
  assertMcpMethod(request);
  const name = proxiedServerName(caller.path);
  if (!name) throw new McpHttpError(404, 'no MCP server is served at this path', {}, -32601);
  const sessionId = request.headers.get('mcp-session-id');
  const session = sessionId ? sessions.get(sessionId) : undefined;
  let access: ProxyAccess;
  try {
    access = await resolveAccess(caller, name);
  } catch (error) {
    // Revoked, out of scope now: the session ends here, not only new ones are refused.
    if (session && session.userId === caller.principal.userId) await closeSession(session);
    throw error;
  }
  const body = request.method === 'POST' ? await readMcpJson(request) : undefined;
  if (!sessionId) {
    if (request.method === 'POST' && isInitialize(body)) return openSession(request, caller, access, body);
    throw new McpHttpError(400, 'send initialize first (no Mcp-Session-Id)');
  }
  // Unknown, expired, opened in another process, another user's or another server's: the client starts a new one.
  if (!session || session.userId !== caller.principal.userId || session.serverId !== access.server.id) throw new McpHttpError(404, 'session not found; initialize a new one', {}, -32001);
  session.lastSeen = Date.now();
  session.signInId = caller.principal.sessionId;
  session.tokenExpiresAt = caller.principal.expiresAt.getTime();
  return session.transport.handleRequest(request, { parsedBody: body, authInfo: mcpAuthInfo(caller, { access }) });
}

/** Closes every proxied session of this process and its upstream connection (shutdown, tests). */
export async function closeProxySessions(): Promise<void> {
  await Promise.all([...sessions.values()].map(closeSession));
  if (sweeper) clearInterval(sweeper);
  sweeper = null;
}
