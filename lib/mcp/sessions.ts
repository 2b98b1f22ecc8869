/**
 * MCP sessions of this web process: one SDK server and Streamable HTTP transport per connected
 * client, bound to the user who opened it (a session id presented with another user's token is
 * unknown). A session lives in the process that opened it (the other web processes on the port
 * forward its requests there: lib/http/peers.ts), its notification stream (GET /mcp) too; skill
 * changes reach every process through lib/skills/changes.ts, and each sends
 * notifications/prompts/list_changed to its own sessions that can see the changed skill.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { listVisibleSkills, skillsChangesReady, subscribeSkillsChanged, type SkillsChange } from '@/lib/skills';
import { revocationView } from '@/lib/tokens';
import type { McpCaller } from './caller';
import { McpHttpError } from './errors';
import { createSkillsServer } from './server';
import { assertMcpMethod, isInitialize, MAX_MCP_BODY_BYTES, mcpAuthInfo, newMcpSessionId, readMcpJson } from './streamable';

interface McpSession {
  id: string;
  userId: string;
  tenantId: string;
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
  /** Skill ids the client was last shown: a change to one of them is signalled even once it is gone. */
  listed: Set<string>;
  lastSeen: number;
  /** The sign-in and expiry of the last token the client presented. */
  signInId: string;
  tokenExpiresAt: number;
}

const IDLE_MS = 60 * 60_000;
const MAX_SESSIONS_PER_USER = 20;

const sessions = new Map<string, McpSession>();
let unsubscribe: (() => void) | null = null;
let sweeper: NodeJS.Timeout | null = null;

async function closeSession(session: McpSession): Promise<void> {
  sessions.delete(session.id);
  await session.transport.close().catch(() => undefined);
}

/**
 * Whether the session's notification stream may still carry anything: the last token it showed
 * has not expired and its sign-in is not revoked. A stream opened with a token outlives it, so
 * one whose token lapsed is closed; the client reopens it with a fresh token (authenticated
 * again, refused if the sign-in ended).
 */
async function streamStillAuthorised(session: McpSession, now: number): Promise<boolean> {
  if (session.tokenExpiresAt <= now) return false;
  const view = await revocationView();
  return !view.revokedSessions.has(session.signInId) && !view.disabledUsers.has(session.userId);
}

async function sweep(): Promise<void> {
  const now = Date.now();
  for (const session of [...sessions.values()]) {
    if (now - session.lastSeen > IDLE_MS) await closeSession(session);
    else if (!(await streamStillAuthorised(session, now))) session.transport.closeStandaloneSSEStream();
  }
}

async function affects(session: McpSession, change: SkillsChange): Promise<boolean> {
  if (session.tenantId !== change.tenantId) return false;
  if (change.ownerId === session.userId || session.listed.has(change.skillId)) return true;
  const visible = await listVisibleSkills({ tenantId: session.tenantId, userId: session.userId });
  return visible.some((skill) => skill.id === change.skillId);
}

async function signal(change: SkillsChange): Promise<void> {
  for (const session of [...sessions.values()]) {
    try {
      if (!(await affects(session, change))) continue;
      if (!(await streamStillAuthorised(session, Date.now()))) {
        session.transport.closeStandaloneSSEStream();
        continue;
      }
      await session.server.sendPromptListChanged();
      await session.server.sendResourceListChanged();
    } catch (error) {
      console.error(`mcp: signalling a skill change to session ${session.id} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Starts listening for skill changes and sweeping idle sessions, once per process. */
function ensureBackgroundWork(): void {
  unsubscribe ??= subscribeSkillsChanged((change) => void signal(change));
  // closeDatabase() ends the LISTEN connection along with the pool (tests, harnesses): the next
  // session opened listens again (a no-op while listening).
  void skillsChangesReady();
  if (!sweeper) {
    sweeper = setInterval(() => void sweep().catch((error: Error) => console.error(`mcp: session sweep failed: ${error.message}`)), 30_000);
    sweeper.unref();
  }
}

function limitUserSessions(userId: string): void {
  const own = [...sessions.values()].filter((session) => session.userId === userId).sort((a, b) => a.lastSeen - b.lastSeen);
  for (const session of own.slice(0, Math.max(0, own.length - MAX_SESSIONS_PER_USER + 1))) void closeSession(session);
}

async function openSession(request: Request, caller: McpCaller, body: unknown): Promise<Response> {
  ensureBackgroundWork();
  const { principal } = caller;
  limitUserSessions(principal.userId);
  const listed = new Set<string>();
  const server = createSkillsServer({
    listed: (ids) => {
      listed.clear();
      for (const id of ids) listed.add(id);
    },
  });
  const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: newMcpSessionId,
    maxRequestBodySize: MAX_MCP_BODY_BYTES,
    onsessioninitialized: (id) => {
      sessions.set(id, { id, userId: principal.userId, tenantId: principal.tenantId, server, transport, listed, lastSeen: Date.now(), signInId: principal.sessionId, tokenExpiresAt: principal.expiresAt.getTime() });
    },
    onsessionclosed: (id) => {
      sessions.delete(id);
    },
  });
  await server.connect(transport);
  return transport.handleRequest(request, { parsedBody: body, authInfo: mcpAuthInfo(caller, {}) });
}

/** POST, GET (notification stream) and DELETE /mcp for an authenticated, authorised caller. */
export async function handleMcp(request: Request, caller: McpCaller): Promise<Response> {
  assertMcpMethod(request);
  const sessionId = request.headers.get('mcp-session-id');
  const body = request.method === 'POST' ? await readMcpJson(request) : undefined;
  if (!sessionId) {
    if (request.method === 'POST' && isInitialize(body)) return openSession(request, caller, body);
    throw new McpHttpError(400, 'send initialize first (no Mcp-Session-Id)');
  }
  const session = sessions.get(sessionId);
  // Unknown, expired (or its process stopped), or another user's: the client starts a new one.
  if (!session || session.userId !== caller.principal.userId) throw new McpHttpError(404, 'session not found; initialize a new one', {}, -32001);
  session.lastSeen = Date.now();
  session.signInId = caller.principal.sessionId;
  session.tokenExpiresAt = caller.principal.expiresAt.getTime();
  return session.transport.handleRequest(request, { parsedBody: body, authInfo: mcpAuthInfo(caller, {}) });
}

/** Closes every session of this process (shutdown, tests). */
export async function closeMcpSessions(): Promise<void> {
  await Promise.all([...sessions.values()].map(closeSession));
  unsubscribe?.();
  unsubscribe = null;
  if (sweeper) clearInterval(sweeper);
  sweeper = null;
}

export function mcpSessionCount(): number {
  return sessions.size;
}
