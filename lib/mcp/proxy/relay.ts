/**
 * What an upstream asks of the client, relayed: sampling/createMessage (the upstream spending the
 * user's model) and elicitation/create (asking the user) under the tool policy, as tools named by
 * their method (the registry records no tool of those names: RELAYED_REQUEST_NAMES; a `*` rule
 * covers them), and audited like tool calls; roots/list as it is. The upstream was told only the capabilities
 * the client declared (upstream.ts), so it asks nothing the client cannot answer.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CreateMessageResultSchema,
  CreateMessageResultWithToolsSchema,
  ElicitResultSchema,
  ErrorCode,
  ListRootsResultSchema,
  McpError,
  type RequestId,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpCaller } from '../caller';
import { McpHttpError } from '../errors';
import { resolveAccess, type ProxyAccess } from './access';
import { auditedRequest, blockedError, POLICY_BLOCKED, refusedRequest } from './audited';
import type { ProxiedCallInput } from './evidence';
import { decideProxiedCall } from './policy';
import type { UpstreamConnection, UpstreamHandlers } from './upstream';

/** How long the client may take to answer (a person may be reading a sampling or elicitation request). */
export const RELAY_TIMEOUT_MS = 5 * 60_000;

/** Who a session acts for, as of its latest request (sessions.ts keeps it current). */
export interface SessionContext {
  caller: McpCaller;
  access: ProxyAccess;
  sessionId: string | undefined;
}

interface ForwardedRequest {
  server: Server;
  requestId: RequestId;
  /** Until its answer is sent: its stream is open. */
  open: boolean;
  context: SessionContext;
  meta: Record<string, unknown> | undefined;
}

/**
 * The client request a forwarded upstream request serves, for what the upstream asks while
 * answering it: the SDK client reads a request's response stream in the async context that sent
 * it, so a sampling or elicitation request arriving on that stream finds it here and goes to the
 * client on that request's stream, as Streamable HTTP wants (else on the session's GET stream),
 * in that request's trace.
 */
const forwarding = new AsyncLocalStorage<ForwardedRequest>();

/** Runs `send` (a request to the upstream) as serving `request` of the client. */
export async function servingClientRequest<T>(request: Omit<ForwardedRequest, 'open'>, send: () => Promise<T>): Promise<T> {
  const forwarded: ForwardedRequest = { ...request, open: true };
  try {
    return await forwarding.run(forwarded, send);
  } finally {
    forwarded.open = false;
  }
}

/** What the upstream is told when the client's answer failed: the client's own JSON-RPC error, or why there was none. */
function clientError(error: unknown): McpError {
  return error instanceof McpError ? error : new McpError(ErrorCode.InternalError, `the client did not answer: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * Access as of now for what the upstream asks (it may ask long after the client's last request):
 * a revoked server, or a person no longer in its scope, ends the session, as the client's next
 * request would (sessions.ts); resolveAccess audits the refusal. The upstream learns only that
 * the session ended.
 */
async function currentAccess(context: SessionContext, end: () => void): Promise<ProxyAccess> {
  let access: ProxyAccess;
  try {
    access = await resolveAccess(context.caller, context.access.server.name);
  } catch (error) {
    if (!(error instanceof McpHttpError)) throw new McpError(ErrorCode.InternalError, 'Gatehouse could not check access for this request');
    end();
    throw new McpError(ErrorCode.InvalidRequest, 'the client session ended');
  }
  // The name now belongs to another server (removed and registered again): not the one this session opened.
  if (access.server.id !== context.access.server.id) {
    end();
    throw new McpError(ErrorCode.InvalidRequest, 'the client session ended');
  }
  return access;
}

/** The relay for one proxied session's `server`; `latest` is who the session acts for now, `end` ends the session. */
export function relayToClient(server: Server, upstream: UpstreamConnection, latest: () => SessionContext, end: () => void): UpstreamHandlers['relay'] {
  return async (method, request, extra) => {
    const store = forwarding.getStore();
    const related = store?.server === server ? store : undefined;
    const context = related?.context ?? latest();
    // Before anything reaches the client, roots included.
    const access = await currentAccess(context, end);
    const params = upstream.redact(request.params ?? {}) as Record<string, unknown> & { _meta?: Record<string, unknown>; tools?: unknown; toolChoice?: unknown };
    const options = { signal: extra.signal, timeout: RELAY_TIMEOUT_MS, ...(related?.open ? { relatedRequestId: related.requestId } : {}) };
    const ask = (schema: Parameters<Server['request']>[1]) => server.request({ method, params } as never, schema, options) as Promise<Result>;
    // Which directories the client works in: nothing to decide or keep.
    if (method === 'roots/list') return ask(ListRootsResultSchema);
    const { caller } = context;
    const verdict = await decideProxiedCall(access, caller.principal, method, params);
    const input: ProxiedCallInput = {
      caller,
      server: { id: access.server.id, name: access.server.name },
      method,
      subject: method,
      arguments: params,
      verdict,
      mcpSessionId: context.sessionId,
      jsonRpcId: extra.requestId,
      // Asked while answering a client request: that request's trace (its _meta and HTTP request).
      meta: related?.meta ?? params._meta,
    };
    // The rule (its id, description and whom it is for) is the organisation's: the audit trail keeps it, the third-party upstream learns only no.
    if (verdict.decision === 'block') return refusedRequest(input, blockedError(verdict), new McpError(POLICY_BLOCKED, `${method} was refused by the client's organisation`));
    // As the SDK's client decides which result a sampling request wants: with tools when it offers tools or a tool choice.
    const schema = method === 'elicitation/create' ? ElicitResultSchema : params.tools || params.toolChoice ? CreateMessageResultWithToolsSchema : CreateMessageResultSchema;
    return auditedRequest(input, extra.signal, () => ask(schema), clientError, (result) =>
      method === 'elicitation/create' ? { elicitationAction: String((result as { action?: unknown }).action ?? '') } : {},
    );
  };
}
