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
 * tools/call, resources/read and prompts/get are audited (evidence.ts). Everything returned
 * passes through the upstream connection's redactor.
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
  type Request as McpRequest,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpCaller } from '../caller';
import type { ProxyAccess } from './access';
import { recordProxiedCall, type CallOutcome, type ProxiedCall, type ProxiedMethod } from './evidence';
import { decideProxiedCall, proxiedToolPermissions, type ToolVerdict } from './policy';
import type { UpstreamConnection } from './upstream';
import { exposedTools, type LiveTools } from './tools';

/** JSON-RPC error code of a call the tool policy blocked (in the implementation-defined server range). */
export const POLICY_BLOCKED = -32003;

/** How long one forwarded request may take; progress notifications restart the clock. */
const REQUEST_TIMEOUT_MS = 5 * 60_000;

interface HandlerExtra {
  authInfo?: { extra?: Record<string, unknown> };
  sessionId?: string;
  requestId: string | number;
  signal: AbortSignal;
  _meta?: Record<string, unknown>;
  sendNotification: (notification: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }) => Promise<void>;
}

/** What the session handler passed along with this message (sessions.ts). */
function contextOf(extra: HandlerExtra): { caller: McpCaller; access: ProxyAccess } {
  const caller = extra.authInfo?.extra?.caller as McpCaller | undefined;
  const access = extra.authInfo?.extra?.access as ProxyAccess | undefined;
  if (!caller || !access) throw new McpError(ErrorCode.InternalError, 'request without an authorised caller');
  return { caller, access };
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

/**
 * What the client and the audit trail see of a failed upstream request: a JSON-RPC error, its
 * text scrubbed of the upstream's credentials. Not only the upstream's JSON-RPC errors: a
 * transport failure (an HTTP error page, which may quote the request's Authorization) arrives
 * as a plain Error, and the SDK server would otherwise send its message and its HTTP status as
 * the error.
 */
function redactedError(error: unknown, redact: UpstreamConnection['redact']): McpError {
  if (error instanceof McpError) return new McpError(error.code, redact(error.message.replace(/^MCP error -?\d+: /, '')), redact(error.data));
  return new McpError(ErrorCode.InternalError, redact(error instanceof Error ? error.message : String(error)));
}

/** `original` as it was thrown (its kind), `redacted` as it is shown. */
function failure(original: unknown, redacted: McpError, signal: AbortSignal): { type: string; message: string } {
  const { message } = redacted;
  // The SDK turns a cancelled request into an McpError like a timeout's: the signal tells them apart.
  if (signal.aborted) return { type: 'cancelled', message: `cancelled by the client: ${String(signal.reason ?? '')}`.slice(0, 500) };
  if (original instanceof McpError) return { type: `mcp_error_${Math.abs(original.code)}`, message };
  return { type: original instanceof Error ? original.name : 'error', message };
}

export interface ProxySessionServer {
  server: Server;
  /** Forget the upstream's tool list (it said it changed). */
  toolsChanged(): void;
}

export function createProxyServer(upstream: UpstreamConnection): ProxySessionServer {
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

  /** Forwards one request with the client's cancellation and progress, redacting the answer. */
  async function forward<T>(request: McpRequest, schema: Parameters<typeof upstream.client.request>[1], extra: HandlerExtra): Promise<T> {
    const progressToken = extra._meta?.progressToken;
    const meta = forwardedMeta(extra._meta);
    const params = { ...(request.params ?? {}), ...(meta ? { _meta: meta } : {}) };
    if (!meta) delete (params as { _meta?: unknown })._meta;
    let result: unknown;
    try {
      result = await upstream.client.request({ method: request.method, params } as never, schema, {
        signal: extra.signal,
        timeout: REQUEST_TIMEOUT_MS,
        resetTimeoutOnProgress: true,
        ...(progressToken !== undefined && (typeof progressToken === 'string' || typeof progressToken === 'number')
          ? { onprogress: (progress) => void extra.sendNotification({ method: 'notifications/progress', params: upstream.redact({ ...progress, progressToken }) }).catch(() => undefined) }
          : {}),
      });
    } catch (error) {
      throw redactedError(error, upstream.redact);
    }
    return upstream.redact(result) as T;
  }

  /** The tools this session may expose now (tools.ts); reading the upstream's list fails as forward() does. */
  async function currentTools(access: ProxyAccess, extra: HandlerExtra): Promise<Tool[]> {
    try {
      return await exposedTools(upstream, live, access.server, extra.signal);
    } catch (error) {
      throw redactedError(error, upstream.redact);
    }
  }

  /** A proxied call, audited with its outcome; `verdict` only for tools/call. */
  async function audited<T>(method: ProxiedMethod, subject: string, args: unknown, extra: HandlerExtra, verdict: ToolVerdict | undefined, run: () => Promise<T>): Promise<T> {
    const { caller, access } = contextOf(extra);
    const call: ProxiedCall = { caller, server: { id: access.server.id, name: access.server.name }, method, subject, arguments: args, verdict, mcpSessionId: extra.sessionId, jsonRpcId: extra.requestId, meta: extra._meta };
    const started = performance.now();
    let outcome: CallOutcome;
    try {
      const result = await run();
      outcome = { outcome: 'success', durationMs: performance.now() - started, resultBytes: Buffer.byteLength(JSON.stringify(result)), toolError: (result as { isError?: unknown }).isError === true };
      await recordProxiedCall(call, outcome);
      return result;
    } catch (error) {
      const redacted = redactedError(error, upstream.redact);
      outcome = { outcome: 'failure', durationMs: performance.now() - started, error: failure(error, redacted, extra.signal) };
      await recordProxiedCall(call, outcome);
      throw redacted;
    }
  }

  async function refuse(method: ProxiedMethod, subject: string, args: unknown, extra: HandlerExtra, verdict: ToolVerdict, error: McpError): Promise<never> {
    const { caller, access } = contextOf(extra);
    await recordProxiedCall(
      { caller, server: { id: access.server.id, name: access.server.name }, method, subject, arguments: args, verdict, mcpSessionId: extra.sessionId, jsonRpcId: extra.requestId, meta: extra._meta },
      { outcome: 'denied', durationMs: 0, error: { type: 'policy_blocked', message: error.message } },
    );
    throw error;
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
      const { caller, access } = contextOf(extra);
      const { name } = request.params;
      const args = request.params.arguments ?? {};
      const tools = await currentTools(access, extra);
      if (!tools.some((tool) => tool.name === name)) {
        const reason = `${access.server.name}/${name} is not in the server's approved tool list as the server now offers it (unknown, or changed since approval and waiting for review)`;
        return refuse('tools/call', name, args, extra, { decision: 'block', rule: null, reason, failMode: 'closed', ruleName: 'mcp_proxy.not_approved' }, new McpError(ErrorCode.InvalidParams, reason));
      }
      const verdict = await decideProxiedCall(access, caller.principal, name, args);
      if (verdict.decision === 'block') {
        const rule = verdict.rule ? `tool policy rule ${verdict.rule.id}${verdict.rule.description ? ` ("${verdict.rule.description}")` : ''}` : verdict.ruleName;
        return refuse('tools/call', name, args, extra, verdict, new McpError(POLICY_BLOCKED, `blocked by ${rule}: ${verdict.reason}`, { decision: 'block', rule: verdict.rule ?? { id: verdict.ruleName, description: '' } }));
      }
      return audited('tools/call', name, args, extra, verdict, () => forward(request, CallToolResultSchema, extra));
    });
  }

  if (capabilities.resources) {
    server.setRequestHandler(ListResourcesRequestSchema, (request, extra) => forward(request, ListResourcesResultSchema, extra));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, (request, extra) => forward(request, ListResourceTemplatesResultSchema, extra));
    server.setRequestHandler(ReadResourceRequestSchema, (request, extra) => audited('resources/read', request.params.uri, undefined, extra, undefined, () => forward(request, ReadResourceResultSchema, extra)));
  }

  if (capabilities.prompts) {
    server.setRequestHandler(ListPromptsRequestSchema, (request, extra) => forward(request, ListPromptsResultSchema, extra));
    server.setRequestHandler(GetPromptRequestSchema, (request, extra) => audited('prompts/get', request.params.name, request.params.arguments ?? {}, extra, undefined, () => forward(request, GetPromptResultSchema, extra)));
  }

  return {
    server,
    toolsChanged: () => {
      live.tools = null;
    },
  };
}
