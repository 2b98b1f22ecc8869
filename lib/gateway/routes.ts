/**
 * The gateway's router: the Anthropic-compatible API under /v1 (messages, count_tokens, models)
 * plus the bearer endpoints served next to it (managed settings, usage, OTLP telemetry). Used by
 * the Node server's data plane and by the Next.js route file alike.
 */
import { configStore } from '@/lib/config';
import { readCanonicalHeaders, readTraceIdLeniently, type GatewayRequestContext } from './auth';
import { handleCountTokens } from './count-tokens';
import { GATEWAY_EXTRA_PATHS, routeGatewayExtras } from './endpoints';
import { anthropicError, GatewayError } from './errors';
import { handleMessages, traceHeaders } from './handler';
import { handleModels } from './models-endpoint';

type ContextHandler = (request: Request, context: GatewayRequestContext) => Promise<Response>;

interface Route {
  methods: readonly string[];
  handler: ContextHandler;
}

const MESSAGES: Route = { methods: ['POST'], handler: handleMessages };
const COUNT_TOKENS: Route = { methods: ['POST'], handler: handleCountTokens };
const MODELS: Route = { methods: ['GET', 'HEAD'], handler: handleModels };

function routeFor(pathname: string): Route | null {
  // Claude Code sends `POST /v1/messages?beta=true`: the path alone decides.
  if (pathname === '/v1/messages') return MESSAGES;
  if (pathname === '/v1/messages/count_tokens') return COUNT_TOKENS;
  if (pathname === '/v1/models' || (pathname.startsWith('/v1/models/') && pathname.length > '/v1/models/'.length)) return MODELS;
  return null;
}

/** The response with extra headers; responses from fetch() have immutable headers, so copied. */
function withHeaders(response: Response, extra: Record<string, string>): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function serve(request: Request, route: Route): Promise<Response> {
  const snapshot = configStore().current();
  const startedAt = performance.now();
  let context: GatewayRequestContext;
  try {
    context = { headers: readCanonicalHeaders(request.headers), snapshot, startedAt };
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return withHeaders(error.toResponse(), { 'x-trace-id': readTraceIdLeniently(request.headers), 'x-policy-version': snapshot.policyVersion });
  }
  if (!route.methods.includes(request.method)) {
    return withHeaders(anthropicError('invalid_request_error', `use ${route.methods[0]} here`, { status: 405, headers: { allow: route.methods.join(', ') } }), traceHeaders(context));
  }
  let response: Response;
  try {
    response = await route.handler(request, context);
  } catch (error) {
    // Bad input never gets here (it is answered 4xx on the way); this is Gatehouse failing.
    console.error(`gateway: ${request.method} ${new URL(request.url).pathname} (trace ${context.headers.traceId}) failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    response = anthropicError('api_error', 'Gatehouse failed while handling this request');
  }
  const extra = traceHeaders(context);
  // Refused before its body was read (no token, over the size cap, chunked): the unread body is
  // still on the connection, so it cannot carry another request. Close it rather than read it.
  if (request.body !== null && !request.bodyUsed) extra.connection = 'close';
  return withHeaders(response, extra);
}

/** Paths the data plane should send here: every /v1 path and the extras outside it. */
export const GATEWAY_PATHS: readonly string[] = ['/v1/*', ...GATEWAY_EXTRA_PATHS.filter((path) => !path.startsWith('/v1/'))];

/**
 * The response for a gateway path, or null when the path is not the gateway's. Unknown paths
 * under /v1 get the Anthropic 404 so SDKs show a clear error.
 */
export function routeGateway(request: Request): Promise<Response> | null {
  const { pathname } = new URL(request.url);
  const route = routeFor(pathname);
  if (route) return serve(request, route);
  const extra = routeGatewayExtras(request);
  if (extra) return extra;
  if (pathname.startsWith('/v1/') || pathname === '/v1') return Promise.resolve(anthropicError('not_found_error', `no such endpoint: ${request.method} ${pathname}`));
  return null;
}

/** routeGateway for a path the caller knows is the gateway's (the data plane table). */
export function handleGatewayRequest(request: Request): Promise<Response> {
  return routeGateway(request) ?? Promise.resolve(anthropicError('not_found_error', 'not found'));
}
