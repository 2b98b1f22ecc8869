/**
 * The MCP server a client sees for one proxied session, on the SDK's low-level Server: it
 * declares what the upstream declared and answers each request by asking the upstream, after
 * the proxy's checks:
 *   tools/list      the approved version's tools, as approved, that the upstream still offers
 *                   unchanged (drift not yet approved is not exposed) and the policy does not
 *                   block for this caller; `ask` tools marked for confirmation (see askMarked)
 *   tools/call      policy per call (arguments, client id, time) → blocked: JSON-RPC error
 *                   naming the rule; else forwarded, progress and cancellation passed through
 *   resources/*, prompts/*   passed through
 * and the other way, what the upstream asks of the client (relay.ts); the client's
 * roots/list_changed goes upstream. tools/call, resources/read and prompts/get are audited
 * (audited.ts). Everything from the upstream passes through the upstream connection's redactor.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  GetPromptResultSchema,
  ListPromptsRequestSchema,
  ListPromptsResultSchema,
  ListResourcesRequestSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesRequestSchema,
  ListResourceTemplatesResultSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  ReadResourceResultSchema,
  RootsListChangedNotificationSchema,
  type Request as McpRequest,
  type RequestId,
  type Result,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { UpstreamGrantRequired } from '@/lib/mcp/upstream-oauth';
import type { McpCaller } from '../caller';
import type { ProxyAccess } from './access';
import { auditedRequest, blockedError, refusedRequest } from './audited';
import { countSessionRefusal, type CallOutcome, type ProxiedCallInput } from './evidence';
import { decideProxiedCall, proxiedToolPermissions, type ToolVerdict } from './policy';
import { relayToClient, servingClientRequest, type SessionContext } from './relay';
import { isSessionGone, type UpstreamConnection, type UpstreamHandlers } from './upstream';
import { exposedTools, type LiveTools } from './tools';

/** JSON-RPC error code when the person has no usable grant at an oauth_user server: `data.connectUrl` says where to connect. */
export const UPSTREAM_GRANT_REQUIRED = -32005;

/** How long one forwarded request may take; progress notifications restart the clock. */
const REQUEST_TIMEOUT_MS = 5 * 60_000;

interface HandlerExtra {
  authInfo?: { extra?: Record<string, unknown> };
  sessionId?: string;
  requestId: RequestId;
  signal: AbortSignal;
  _meta?: Record<string, unknown>;
  sendNotification: (notification: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }) => Promise<void>;
}

/** What the session handler passed along with this message (sessions.ts). */
function contextOf(extra: HandlerExtra): SessionContext {
  const caller = extra.authInfo?.extra?.caller as McpCaller | undefined;
  const access = extra.authInfo?.extra?.access as ProxyAccess | undefined;
  if (!caller || !access) throw new McpError(ErrorCode.InternalError, 'request without an authorised caller');
  return { caller, access, sessionId: extra.sessionId };
}

/**
 * The `ask` decision as MCP can say it: the standard annotations a client uses to decide whether
 * to confirm (not read-only, destructive), plus the decision itself under `_meta` for clients
 * that read it. Claude Desktop's managed `toolPolicy` (lib/mcp/allowlist) carries the same
 * decision as its own confirmation setting.
 */
function askMarked(tool: Tool): Tool {
  return {
    ...tool,
    annotations: { ...tool.annotations, readOnlyHint: false, destructiveHint: true },
    _meta: { ...tool._meta, 'gatehouse/toolPolicy': 'ask' },
  };
}

/** The client's `_meta` as sent upstream: its trace context and the rest, but not its progress token (the proxy has its own). */
function forwardedMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!meta) return undefined;
  const { progressToken: _progressToken, ...rest } = meta;
  return Object.keys(rest).length ? rest : undefined;
}

export interface ProxySessionServer {
  server: Server;
  /** Forget the upstream's tool list (it said it changed). */
  toolsChanged(): void;
  /** The caller and access of the session's latest request: requests of the upstream act for them. */
  update(context: SessionContext): void;
  /** Who the session acts for as of its latest request. */
  context(): SessionContext;
  /** A request of the upstream's, passed to the client (UpstreamHandlers.relay). */
  relay: UpstreamHandlers['relay'];
}

/** `lost()` says why the upstream session ended, once it has; `end()` ends the session as a lost one (access refused to what the upstream asked). */
export function createProxyServer(upstream: UpstreamConnection, initial: SessionContext, lost: () => string | null, end: () => void): ProxySessionServer {
  const upstreamCapabilities = upstream.capabilities;
  const capabilities: ServerCapabilities = {};
  if (upstreamCapabilities.tools) capabilities.tools = { listChanged: true };
  if (upstreamCapabilities.resources) capabilities.resources = { listChanged: upstreamCapabilities.resources.listChanged ?? false };
  if (upstreamCapabilities.prompts) capabilities.prompts = { listChanged: upstreamCapabilities.prompts.listChanged ?? false };
  const version = upstream.client.getServerVersion();
  // What the upstream calls itself is its text like any other: through the one redactor.
  const server = new Server(
    upstream.redact({ name: version?.name ?? 'upstream', version: version?.version ?? '0', ...(version?.title ? { title: version.title } : {}) }),
    { capabilities, ...(upstream.instructions ? { instructions: upstream.redact(upstream.instructions) } : {}) },
  );
  const live: LiveTools = { tools: null };
  let latest = initial;

  /**
   * What the client and the audit trail see of a failed upstream request: a JSON-RPC error, its
   * text scrubbed of the upstream's credentials. Not only the upstream's JSON-RPC errors: a
   * transport failure (an HTTP error page, which may quote the request's Authorization) arrives
   * as a plain Error, and the SDK server would otherwise send its message and its HTTP status as
   * the error. An upstream that forgot the session: the client must start a new one.
   */
  function upstreamError(error: unknown): McpError {
    if (error instanceof UpstreamGrantRequired) return new McpError(UPSTREAM_GRANT_REQUIRED, error.message, { connectUrl: error.connectUrl, reason: error.reason });
    const reason = lost() ?? (isSessionGone(error) ? 'the upstream no longer knows the session' : null);
    if (reason) return new McpError(ErrorCode.ConnectionClosed, `the session with the upstream server ended (${upstream.redact(reason)}); start a new session`);
    if (error instanceof McpError) return new McpError(error.code, upstream.redact(error.message.replace(/^MCP error -?\d+: /, '')), upstream.redact(error.data));
    return new McpError(ErrorCode.InternalError, upstream.redact(error instanceof Error ? error.message : String(error)));
  }

  /** Forwards one request with the client's cancellation and progress, redacting the answer. */
  async function forward<T>(request: McpRequest, schema: Parameters<typeof upstream.client.request>[1], extra: HandlerExtra): Promise<T> {
    const progressToken = extra._meta?.progressToken;
    const meta = forwardedMeta(extra._meta);
    const params = { ...(request.params ?? {}), ...(meta ? { _meta: meta } : {}) };
    if (!meta) delete (params as { _meta?: unknown })._meta;
    let result: unknown;
    try {
      result = await servingClientRequest({ server, requestId: extra.requestId, context: contextOf(extra), meta: extra._meta }, () =>
        upstream.client.request({ method: request.method, params } as never, schema, {
          signal: extra.signal,
          timeout: REQUEST_TIMEOUT_MS,
          resetTimeoutOnProgress: true,
          ...(progressToken !== undefined && (typeof progressToken === 'string' || typeof progressToken === 'number')
            ? { onprogress: (progress) => void extra.sendNotification({ method: 'notifications/progress', params: upstream.redact({ ...progress, progressToken }) }).catch(() => undefined) }
            : {}),
        }),
      );
    } catch (error) {
      throw failed(error, extra);
    }
    return upstream.redact(result) as T;
  }

  /** The tools this session may expose now (tools.ts); reading the upstream's list fails as forward() does. */
  async function currentTools(access: ProxyAccess, extra: HandlerExtra): Promise<Tool[]> {
    try {
      return await exposedTools(upstream, live, access.server, extra.signal);
    } catch (error) {
      throw failed(error, extra);
    }
  }

  /** A failed upstream request as the client sees it; a lost grant also refuses the session's person, audited. */
  function failed(error: unknown, extra: HandlerExtra): McpError {
    if (error instanceof UpstreamGrantRequired) {
      const { caller, access } = contextOf(extra);
      countSessionRefusal({ caller, serverName: access.server.name, serverId: access.server.id, rule: 'mcp_proxy.upstream_grant', reason: error.message, status: 403 });
    }
    return upstreamError(error);
  }

  /** One audited request of the client's (audited.ts); errors shown as forward() shows them. */
  function audited<T>(input: ProxiedCallInput, signal: AbortSignal, run: () => Promise<T>, describe?: (result: T) => Partial<CallOutcome>): Promise<T> {
    return auditedRequest(input, signal, run, (error) => (error instanceof McpError ? error : upstreamError(error)), describe);
  }

  function callInput(context: SessionContext, extra: HandlerExtra, fields: Pick<ProxiedCallInput, 'method' | 'subject' | 'arguments' | 'verdict'>): ProxiedCallInput {
    const { caller, access } = context;
    return { caller, server: { id: access.server.id, name: access.server.name }, mcpSessionId: extra.sessionId, jsonRpcId: extra.requestId, meta: extra._meta, ...fields };
  }

  if (capabilities.tools) {
    server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
      const { caller, access } = contextOf(extra);
      const tools = await currentTools(access, extra);
      const permissions = await proxiedToolPermissions(access, caller.principal, tools.map((tool) => tool.name));
      // The definitions are the approved ones as the registry stored them from the upstream: redacted like anything else it said.
      return upstream.redact({
        tools: tools.flatMap((tool) => {
          const permission = permissions[tool.name];
          if (permission === 'blocked' || permission === undefined) return [];
          return [permission === 'ask' ? askMarked(tool) : tool];
        }),
      });
    });

    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const context = contextOf(extra);
      const { caller, access } = context;
      const { name } = request.params;
      const args = request.params.arguments ?? {};
      const tools = await currentTools(access, extra);
      if (!tools.some((tool) => tool.name === name)) {
        const reason = `${access.server.name}/${name} is not in the server's approved tool list as the server now offers it (unknown, or changed since approval and waiting for review)`;
        const verdict: ToolVerdict = { decision: 'block', rule: null, reason, failMode: 'closed', ruleName: 'mcp_proxy.not_approved' };
        return refusedRequest(callInput(context, extra, { method: 'tools/call', subject: name, arguments: args, verdict }), new McpError(ErrorCode.InvalidParams, reason));
      }
      const verdict = await decideProxiedCall(access, caller.principal, name, args);
      const input = callInput(context, extra, { method: 'tools/call', subject: name, arguments: args, verdict });
      if (verdict.decision === 'block') return refusedRequest(input, blockedError(verdict));
      return audited(input, extra.signal, () => forward<Result & { isError?: unknown }>(request, CallToolResultSchema, extra), (result) => ({ toolError: result.isError === true }));
    });
  }

  if (capabilities.resources) {
    server.setRequestHandler(ListResourcesRequestSchema, (request, extra) => forward(request, ListResourcesResultSchema, extra));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, (request, extra) => forward(request, ListResourceTemplatesResultSchema, extra));
    server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
      audited(callInput(contextOf(extra), extra, { method: 'resources/read', subject: request.params.uri }), extra.signal, () => forward(request, ReadResourceResultSchema, extra)),
    );
  }

  if (capabilities.prompts) {
    server.setRequestHandler(ListPromptsRequestSchema, (request, extra) => forward(request, ListPromptsResultSchema, extra));
    server.setRequestHandler(GetPromptRequestSchema, (request, extra) =>
      audited(callInput(contextOf(extra), extra, { method: 'prompts/get', subject: request.params.name, arguments: request.params.arguments ?? {} }), extra.signal, () => forward(request, GetPromptResultSchema, extra)),
    );
  }

  // The client's roots changed: the upstream (which was told the client has roots) may ask again.
  server.setNotificationHandler(RootsListChangedNotificationSchema, async () => {
    if (upstream.client.getServerCapabilities() && lost() === null) await upstream.client.sendRootsListChanged().catch(() => undefined);
  });

  return {
    server,
    toolsChanged: () => {
      live.tools = null;
    },
    update: (context) => {
      latest = context;
    },
    context: () => latest,
    relay: relayToClient(server, upstream, () => latest, end),
  };
}
