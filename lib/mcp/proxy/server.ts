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
 * and the other way, what the upstream asks of the client (relay()): sampling/createMessage and
 * elicitation/create under the tool policy like a tool named by the method, roots/list as is;
 * the client's roots/list_changed goes upstream.
 * tools/call, resources/read, prompts/get, sampling and elicitation are audited (evidence.ts):
 * the decision is committed before the request goes on. Everything from the upstream passes
 * through the upstream connection's redactor.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  CreateMessageResultSchema,
  CreateMessageResultWithToolsSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  GetPromptResultSchema,
  ListPromptsRequestSchema,
  ListPromptsResultSchema,
  ListResourcesRequestSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesRequestSchema,
  ListResourceTemplatesResultSchema,
  ListRootsResultSchema,
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
import { runInBackground } from '@/lib/platform/background';
import { UpstreamGrantRequired } from '@/lib/mcp/upstream-oauth';
import type { McpCaller } from '../caller';
import type { ProxyAccess } from './access';
import { countSessionRefusal, proxiedCall, recordProxiedDecision, recordProxiedOutcome, type CallOutcome, type ProxiedCall, type ProxiedCallInput } from './evidence';
import { decideProxiedCall, proxiedToolPermissions, type ToolVerdict } from './policy';
import { ANSWER_TOO_LARGE, isSessionGone, type RelayedMethod, type UpstreamConnection, type UpstreamHandlers } from './upstream';
import { exposedTools, type LiveTools } from './tools';

/** JSON-RPC error code of a call the tool policy blocked (in the implementation-defined server range). */
export const POLICY_BLOCKED = -32003;

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

/** Who a session acts for, as of its latest request (sessions.ts keeps it current). */
export interface SessionContext {
  caller: McpCaller;
  access: ProxyAccess;
  sessionId: string | undefined;
}

/**
 * The client request a forwarded upstream request serves, for what the upstream asks while
 * answering it: the SDK client reads a request's response stream in the async context that sent
 * it, so a sampling or elicitation request arriving on that stream finds it here and goes to the
 * client on that request's stream, as Streamable HTTP wants (else on the session's GET stream).
 */
const forwarding = new AsyncLocalStorage<{ server: Server; requestId: RequestId; open: boolean; context: SessionContext; meta: Record<string, unknown> | undefined }>();

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

/** `original` as it was thrown (its kind), `shown` as the client sees it. */
function failure(original: unknown, shown: McpError, signal: AbortSignal): { type: string; message: string } {
  const { message } = shown;
  // The SDK turns a cancelled request into an McpError like a timeout's: the signal tells them apart.
  if (signal.aborted) return { type: 'cancelled', message: `cancelled: ${String(signal.reason ?? '')}`.slice(0, 500) };
  if (shown.code === ANSWER_TOO_LARGE) return { type: 'response_too_large', message };
  if (original instanceof McpError) return { type: `mcp_error_${Math.abs(original.code)}`, message };
  return { type: original instanceof Error ? original.name : 'error', message };
}

/** Evidence first: a request whose decision cannot be recorded is not sent. */
async function durableDecision(call: ProxiedCall): Promise<void> {
  try {
    await recordProxiedDecision(call);
  } catch (error) {
    console.error(`mcp proxy: recording ${call.method} ${call.callId} failed, refusing it: ${error instanceof Error ? error.message : String(error)}`);
    throw new McpError(ErrorCode.InternalError, 'Gatehouse could not record this request in its audit trail, so it was not sent; try again shortly');
  }
}

/** The end of a call, recorded after the answer went on: its failure is logged and changes nothing the caller got. */
function recordOutcomeLater(call: ProxiedCall, outcome: CallOutcome): void {
  runInBackground(`mcp proxy: recording how ${call.method} ${call.callId} ended`, () => recordProxiedOutcome(call, outcome));
}

function blockedError(verdict: ToolVerdict): McpError {
  const rule = verdict.rule ? `tool policy rule ${verdict.rule.id}${verdict.rule.description ? ` ("${verdict.rule.description}")` : ''}` : verdict.ruleName;
  return new McpError(POLICY_BLOCKED, `blocked by ${rule}: ${verdict.reason}`, { decision: 'block', rule: verdict.rule ?? { id: verdict.ruleName, description: '' } });
}

export interface ProxySessionServer {
  server: Server;
  /** Forget the upstream's tool list (it said it changed). */
  toolsChanged(): void;
  /** The caller and access of the session's latest request: requests of the upstream act for them. */
  update(context: SessionContext): void;
  /** A request of the upstream's, passed to the client (UpstreamHandlers.relay). */
  relay: UpstreamHandlers['relay'];
}

/** `lost()` says why the upstream session ended, once it has. */
export function createProxyServer(upstream: UpstreamConnection, initial: SessionContext, lost: () => string | null): ProxySessionServer {
  const upstreamCapabilities = upstream.capabilities;
  const capabilities: ServerCapabilities = {};
  if (upstreamCapabilities.tools) capabilities.tools = { listChanged: true };
  if (upstreamCapabilities.resources) capabilities.resources = { listChanged: upstreamCapabilities.resources.listChanged ?? false };
  if (upstreamCapabilities.prompts) capabilities.prompts = { listChanged: upstreamCapabilities.prompts.listChanged ?? false };
  const version = upstream.client.getServerVersion();
  const server = new Server(
    { name: version?.name ?? 'upstream', version: version?.version ?? '0', ...(version?.title ? { title: version.title } : {}) },
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
    const related = { server, requestId: extra.requestId, open: true, context: contextOf(extra), meta: extra._meta };
    let result: unknown;
    try {
      result = await forwarding.run(related, () =>
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
    } finally {
      related.open = false;
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

  /** One audited request: its decision committed, then `run`, then its end recorded in the background. */
  async function audited<T>(input: ProxiedCallInput, signal: AbortSignal, run: () => Promise<T>, describe: (result: T) => Partial<CallOutcome> = () => ({})): Promise<T> {
    const call = proxiedCall(input);
    await durableDecision(call);
    const started = performance.now();
    let result: T;
    try {
      result = await run();
    } catch (error) {
      const shown = error instanceof McpError ? error : upstreamError(error);
      recordOutcomeLater(call, { outcome: 'failure', durationMs: performance.now() - started, error: failure(error, shown, signal) });
      throw shown;
    }
    recordOutcomeLater(call, { outcome: 'success', durationMs: performance.now() - started, resultBytes: Buffer.byteLength(JSON.stringify(result) ?? ''), ...describe(result) });
    return result;
  }

  /** A request the policy blocked: recorded (denied), then refused. */
  async function refuse(input: ProxiedCallInput, error: McpError): Promise<never> {
    const call = proxiedCall(input);
    await recordProxiedDecision(call, { type: 'policy_blocked', message: error.message }).catch((recording: Error) => console.error(`mcp proxy: recording the refusal ${call.callId} failed: ${recording.message}`));
    throw error;
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
        return refuse(callInput(context, extra, { method: 'tools/call', subject: name, arguments: args, verdict }), new McpError(ErrorCode.InvalidParams, reason));
      }
      const verdict = await decideProxiedCall(access, caller.principal, name, args);
      const input = callInput(context, extra, { method: 'tools/call', subject: name, arguments: args, verdict });
      if (verdict.decision === 'block') return refuse(input, blockedError(verdict));
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

  const relay: UpstreamHandlers['relay'] = async (method: RelayedMethod, request, extra) => {
    const store = forwarding.getStore();
    const related = store?.server === server ? store : undefined;
    const context = related?.context ?? latest;
    const params = upstream.redact(request.params ?? {}) as Record<string, unknown> & { _meta?: Record<string, unknown>; tools?: unknown };
    const options = { signal: extra.signal, timeout: REQUEST_TIMEOUT_MS, ...(related?.open ? { relatedRequestId: related.requestId } : {}) };
    const ask = (schema: Parameters<typeof server.request>[1]) => server.request({ method, params } as never, schema, options) as Promise<Result>;
    // Which directories the client works in: nothing to decide or keep.
    if (method === 'roots/list') return ask(ListRootsResultSchema);
    // Sampling spends the user's model, elicitation asks the user: the tool policy decides them
    // as tools named by their method (tool names cannot contain "/", so no real tool is meant).
    const { caller, access } = context;
    const verdict = await decideProxiedCall(access, caller.principal, method, params);
    // Asked while answering a client request: that request's trace (its _meta and HTTP request).
    const meta = related?.meta ?? params._meta;
    const input: ProxiedCallInput = { caller, server: { id: access.server.id, name: access.server.name }, method, subject: method, arguments: params, verdict, mcpSessionId: context.sessionId, jsonRpcId: extra.requestId, meta };
    if (verdict.decision === 'block') return refuse(input, blockedError(verdict));
    const schema = method === 'elicitation/create' ? ElicitResultSchema : params.tools ? CreateMessageResultWithToolsSchema : CreateMessageResultSchema;
    return audited(input, extra.signal, () => ask(schema), (result) => (method === 'elicitation/create' ? { elicitationAction: String((result as { action?: unknown }).action ?? '') } : {}));
  };

  return {
    server,
    toolsChanged: () => {
      live.tools = null;
    },
    update: (context) => {
      latest = context;
    },
    relay,
  };
}
