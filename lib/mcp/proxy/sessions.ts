/**
 * Proxied MCP sessions of this process: per connected client, the SDK server it talks to
 * (Streamable HTTP) and the upstream connection behind it, bound to the user and server that
 * opened it. Every request re-checks access (access.ts): a revoked server, or a caller no
 * longer in its scope, ends the session on its next request. A session whose upstream session
 * ended (the upstream restarted or forgot it: 404 on its id; its transport closed) ends too:
 * the client's next request gets 404 and, as Streamable HTTP has it, the client initializes
 * again, which opens a new upstream session. Idle sessions, lost ones and those whose sign-in
 * ended are swept, closing their upstream connection.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { ErrorCode, McpError, type ClientCapabilities, type Notification } from '@modelcontextprotocol/sdk/types.js';
import { upstreamTarget, type RegisteredServer } from '@/lib/mcp/registry';
import { grantedTarget, UpstreamGrantRequired, UpstreamOAuthError } from '@/lib/mcp/upstream-oauth';
import { onDrain, runInBackground } from '@/lib/platform/background';
import { revocationView } from '@/lib/tokens';
import { UserInputError } from '@/lib/users/tenant';
import type { McpCaller } from '../caller';
import { McpHttpError } from '../errors';
import { proxiedServerName } from '../resource';
import { assertMcpMethod, declaredClientCapabilities, isInitialize, MAX_MCP_BODY_BYTES, mcpAuthInfo, newMcpSessionId, readMcpJson } from '../streamable';
import { resolveAccess, type ProxyAccess } from './access';
import { countSessionRefusal } from './evidence';
import { createProxyServer, UPSTREAM_GRANT_REQUIRED, type ProxySessionServer } from './server';
import { connectUpstream, UpstreamUnavailableError, type UpstreamConnection, type UpstreamHandlers } from './upstream';

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
  /** Why the upstream session ended, once it has: the session answers 404 from then on. */
  lost: string | null;
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

/**
 * Whether the session's person may still use its server (access.ts, which audits a refusal): an
 * idle session must not outlive a revocation or a scope change, since the upstream may still
 * ask the client things (relay.ts checks those too).
 */
async function stillAllowed(session: ProxySession): Promise<boolean> {
  const { caller, access } = session.proxied.context();
  try {
    return (await resolveAccess(caller, access.server.name)).server.id === session.serverId;
  } catch (error) {
    if (error instanceof McpHttpError) return false;
    throw error;
  }
}

async function sweep(): Promise<void> {
  const now = Date.now();
  const view = await revocationView();
  for (const session of [...sessions.values()]) {
    const signedOut = session.tokenExpiresAt <= now || view.revokedSessions.has(session.signInId) || view.disabledUsers.has(session.userId);
    if (now - session.lastSeen > IDLE_MS || signedOut || session.lost || !(await stillAllowed(session))) await closeSession(session);
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

/**
 * What the upstream announces unprompted, relayed to the client: its list changes, and the end
 * of a URL elicitation it asked for (the client is waiting for it).
 */
function relayNotification(session: ProxySession | undefined, notification: Notification): void {
  if (!session) return;
  const { proxied, upstream } = session;
  const { method } = notification;
  let sent: Promise<void> | null = null;
  if (method === 'notifications/tools/list_changed') {
    proxied.toolsChanged();
    sent = proxied.server.sendToolListChanged();
  } else if (method === 'notifications/resources/list_changed') sent = proxied.server.sendResourceListChanged();
  else if (method === 'notifications/prompts/list_changed') sent = proxied.server.sendPromptListChanged();
  else if (method === 'notifications/elicitation/complete') sent = proxied.server.notification(upstream.redact({ method, params: notification.params ?? {} }) as never);
  void sent?.catch(() => undefined);
}

async function connect(caller: McpCaller, server: RegisteredServer, capabilities: ClientCapabilities, handlers: UpstreamHandlers): Promise<UpstreamConnection> {
  const refuse = (rule: string, status: number, message: string, data?: Record<string, unknown>, code?: number): never => {
    countSessionRefusal({ caller, serverName: server.name, serverId: server.id, rule, reason: message, status });
    throw new McpHttpError(status, message, {}, code, data);
  };
  const grantRequired = (error: UpstreamGrantRequired): never =>
    refuse('mcp_proxy.upstream_grant', 403, error.message, { connectUrl: error.connectUrl, reason: error.reason }, UPSTREAM_GRANT_REQUIRED);
  let target;
  try {
    target = await upstreamTarget(server);
    // oauth_user: the person's own grant at the upstream, never the client's token (no passthrough).
    if (server.upstreamAuth === 'oauth_user') target = await grantedTarget(server, target, caller.principal.userId);
  } catch (error) {
    if (error instanceof UpstreamGrantRequired) grantRequired(error);
    if (error instanceof UserInputError || error instanceof UpstreamOAuthError) refuse('mcp_proxy.upstream_unavailable', 502, `"${server.name}" cannot be reached through Gatehouse: ${error.message}`);
    throw error;
  }
  try {
    return await connectUpstream(target, capabilities, handlers);
  } catch (error) {
    if (error instanceof UpstreamGrantRequired) grantRequired(error);
    if (error instanceof UpstreamOAuthError) refuse('mcp_proxy.upstream_unavailable', 502, `"${server.name}" cannot be reached through Gatehouse: ${error.message}`);
    if (error instanceof UpstreamUnavailableError) {
      console.error(`mcp proxy: connecting to ${server.name} failed: ${error.message}`);
      refuse('mcp_proxy.upstream_unavailable', 502, `"${server.name}" did not answer Gatehouse's connection (${error.message.slice(0, 300)})`);
    }
    throw error;
  }
}

/**
 * The upstream session ended: the proxied one ends with it. Its upstream connection is closed
 * on the next turn (so the request that found out is answered with its own error first); the
 * client's next request gets 404 and starts a new session.
 */
function loseSession(session: ProxySession, reason: string): void {
  if (session.lost) return;
  session.lost = reason;
  console.warn(`mcp proxy: the upstream session of ${session.id} ended (${reason}); the client must start a new one`);
  setImmediate(() => void session.upstream.close());
}

async function openSession(request: Request, caller: McpCaller, access: ProxyAccess, body: unknown): Promise<Response> {
  ensureSweeper();
  const { principal } = caller;
  limitUserSessions(principal.userId);
  let id: string | undefined;
  let proxied: ProxySessionServer | undefined;
  /** Lost before the session was registered (during initialize). */
  let lostEarly: string | null = null;
  const current = () => (id ? sessions.get(id) : undefined);
  const lose = (reason: string): void => {
    const session = current();
    if (session) loseSession(session, reason);
    else lostEarly ??= reason;
  };
  const upstream = await connect(caller, access.server, declaredClientCapabilities(body), {
    onNotification: (notification) => relayNotification(current(), notification),
    relay: (method, relayed, extra) => (proxied ? proxied.relay(method, relayed, extra) : Promise.reject(new McpError(ErrorCode.InternalError, 'the session is still opening'))),
    onLost: lose,
  });
  proxied = createProxyServer(upstream, { caller, access, sessionId: undefined }, () => current()?.lost ?? lostEarly, () =>
    // Ended as a lost upstream session is: the calls in flight fail saying so, the next request gets 404.
    lose('access to this server was withdrawn'),
  );
  const server = proxied;
  const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: newMcpSessionId,
    maxRequestBodySize: MAX_MCP_BODY_BYTES,
    onsessioninitialized: (sessionId) => {
      id = sessionId;
      server.update({ caller, access, sessionId });
      sessions.set(sessionId, { id: sessionId, userId: principal.userId, serverId: access.server.id, proxied: server, transport, upstream, lastSeen: Date.now(), signInId: principal.sessionId, tokenExpiresAt: principal.expiresAt.getTime(), lost: lostEarly });
    },
    onsessionclosed: (sessionId) => {
      const session = sessions.get(sessionId);
      if (session) void closeSession(session);
    },
  });
  await server.server.connect(transport);
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
  // Unknown, expired (or its process stopped), another user's or another server's: the client starts a new one.
  if (!session || session.userId !== caller.principal.userId || session.serverId !== access.server.id) throw new McpHttpError(404, 'session not found; initialize a new one', {}, -32001);
  if (session.lost) {
    await closeSession(session);
    throw new McpHttpError(404, `session ended: ${session.lost}; initialize a new one`, {}, -32001);
  }
  session.proxied.update({ caller, access, sessionId: session.id });
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
