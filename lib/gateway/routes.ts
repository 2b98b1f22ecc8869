/**
 * The gateway's router: the Anthropic-compatible API under /v1 (messages, count_tokens, models)
 * plus the bearer endpoints served next to it (managed settings, usage, OTLP telemetry). Every
 * route goes through withGatewayCaller, the one way in. Used by the Node server's data plane and
 * by the Next.js route files alike.
 */
import { webDataPlaneRequest, type DataPlaneRequest } from '@/lib/http/data-plane-request';
import { toWebResponse, type DataPlaneReply } from '@/lib/http/reply';
import { withGatewayCaller } from './auth/with-caller';
import { handleCountTokens } from './count-tokens';
import { handleBootstrap, handleManagedSettings, handleTelemetry, handleUsage } from './endpoints';
import { anthropicError } from './errors';
import { handleMessages } from './handler';
import { handleModels } from './models-endpoint';

type Route = (request: DataPlaneRequest) => Promise<DataPlaneReply>;

// Everyone who uses Claude through Gatehouse needs inference.invoke; so do the endpoints that
// only make sense for them (their usage, their Claude Code settings, their client's telemetry).
const USE = 'inference.invoke';

const MODELS: Route = withGatewayCaller({ methods: ['GET'], permission: USE }, handleModels);

const ROUTES: Record<string, Route> = {
  '/v1/messages': withGatewayCaller({ methods: ['POST'], permission: USE }, handleMessages),
  '/v1/messages/count_tokens': withGatewayCaller(
    { methods: ['POST'], permission: USE, rateLimit: { counter: 'count_tokens', perMinute: (snapshot) => snapshot.config.limits.count_tokens_per_minute } },
    handleCountTokens,
  ),
  '/v1/models': MODELS,
  '/v1/metrics': withGatewayCaller({ methods: ['POST'], permission: USE }, (request, context) => handleTelemetry(request, context, 'metrics')),
  '/v1/logs': withGatewayCaller({ methods: ['POST'], permission: USE }, (request, context) => handleTelemetry(request, context, 'logs')),
  '/v1/traces': withGatewayCaller({ methods: ['POST'], permission: USE }, (request, context) => handleTelemetry(request, context, 'traces')),
  '/managed/settings': withGatewayCaller({ methods: ['GET'], permission: USE }, handleManagedSettings),
  '/api/oauth/usage': withGatewayCaller({ methods: ['GET'], permission: USE }, handleUsage),
  '/api/v1/bootstrap': withGatewayCaller({ methods: ['GET'], permission: USE }, handleBootstrap),
};

function routeFor(pathname: string): Route | null {
  // Claude Code sends `POST /v1/messages?beta=true`: the path alone decides.
  const exact = ROUTES[pathname];
  if (exact) return exact;
  if (pathname.startsWith('/v1/models/') && pathname.length > '/v1/models/'.length) return MODELS;
  return null;
}

/** Paths the data plane should send here: every /v1 path and the bearer endpoints outside it. */
export const GATEWAY_PATHS: readonly string[] = ['/v1/*', ...Object.keys(ROUTES).filter((path) => !path.startsWith('/v1/'))];

/**
 * The answer for a gateway path, or null when the path is not the gateway's. Unknown paths
 * under /v1 get the Anthropic 404 so SDKs show a clear error.
 */
export function routeGateway(request: DataPlaneRequest): Promise<DataPlaneReply> | null {
  const { path } = request;
  const route = routeFor(path);
  if (route) return route(request);
  if (path.startsWith('/v1/') || path === '/v1') return Promise.resolve(anthropicError('not_found_error', `no such endpoint: ${request.method} ${path}`));
  return null;
}

/** routeGateway for a path the caller knows is the gateway's (the data plane table), served from Node's request and response. */
export function serveGateway(request: DataPlaneRequest): Promise<DataPlaneReply> {
  return routeGateway(request) ?? Promise.resolve(anthropicError('not_found_error', 'not found'));
}

/** The same for Web callers (Next's route files, tests). */
export async function handleGatewayRequest(request: Request): Promise<Response> {
  return toWebResponse(await serveGateway(webDataPlaneRequest(request)));
}
