// The gateway's bearer-authenticated endpoints besides /v1/messages: managed settings, usage
// and OTLP telemetry. The request pipeline mounts routeGatewayExtras next to its own routes.
import { anthropicError } from '@/lib/gateway/errors';
import { handleManagedSettings } from './managed-settings';
import { handleTelemetry } from './telemetry';
import { handleUsage } from './usage';

export { authenticateGatewayCaller } from './auth';
export { canonicalJson, managedSettingsFor, settingsChecksum, type ManagedSettingsDocument } from './managed-settings';
export { summariseExport, MAX_TELEMETRY_BYTES, type TelemetrySummary } from './telemetry';
export { OTLP_ROOT, OTLP_SIGNALS, type OtlpSignal } from './otlp-schema';

type Handler = (request: Request) => Promise<Response>;

const ROUTES: Record<string, { method: 'GET' | 'POST'; handler: Handler }> = {
  '/managed/settings': { method: 'GET', handler: handleManagedSettings },
  '/api/oauth/usage': { method: 'GET', handler: handleUsage },
  '/v1/metrics': { method: 'POST', handler: (request) => handleTelemetry(request, 'metrics') },
  '/v1/logs': { method: 'POST', handler: (request) => handleTelemetry(request, 'logs') },
  '/v1/traces': { method: 'POST', handler: (request) => handleTelemetry(request, 'traces') },
};

/** The paths routeGatewayExtras answers, for the data-plane table. */
export const GATEWAY_EXTRA_PATHS = Object.keys(ROUTES);

/**
 * The response for one of these endpoints, or null when the path is not one of them (the
 * query string is ignored, as clients add their own).
 */
export function routeGatewayExtras(request: Request): Promise<Response> | null {
  const route = ROUTES[new URL(request.url).pathname];
  if (!route) return null;
  if (request.method !== route.method && !(route.method === 'GET' && request.method === 'HEAD')) {
    return Promise.resolve(anthropicError('invalid_request_error', `use ${route.method} here`, { status: 405, headers: { allow: route.method === 'GET' ? 'GET, HEAD' : 'POST' } }));
  }
  return route.handler(request);
}
