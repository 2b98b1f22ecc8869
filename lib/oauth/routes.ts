import type { WebHandler } from '@/lib/http/node-adapter';
import { handleAuthorize } from './http/authorize';
import { preflight } from './http/cors';
import { handleDeviceAuthorization } from './http/device-authorization';
import { handleDevicePage } from './http/device-page';
import { handleAuthorizationServerMetadata, handleJwks, handleOpenIdConfiguration } from './http/discovery';
import { handleRegister } from './http/register';
import { handleRevoke } from './http/revoke';
import { handleToken } from './http/token';
import { handleUserinfo } from './http/userinfo';

interface OAuthRoute {
  methods: Partial<Record<'GET' | 'POST', WebHandler>>;
  /** Called from browsers on other origins (answers CORS preflight). */
  cors: boolean;
}

/** Every path the identity plane answers. */
export const OAUTH_ROUTES: Readonly<Record<string, OAuthRoute>> = {
  '/.well-known/oauth-authorization-server': { methods: { GET: handleAuthorizationServerMetadata }, cors: true },
  '/.well-known/openid-configuration': { methods: { GET: handleOpenIdConfiguration }, cors: true },
  '/.well-known/jwks.json': { methods: { GET: handleJwks }, cors: true },
  '/oauth/authorize': { methods: { GET: handleAuthorize, POST: handleAuthorize }, cors: false },
  '/oauth/token': { methods: { POST: handleToken }, cors: true },
  '/oauth/device_authorization': { methods: { POST: handleDeviceAuthorization }, cors: true },
  '/oauth/register': { methods: { POST: handleRegister }, cors: true },
  '/oauth/revoke': { methods: { POST: handleRevoke }, cors: true },
  '/oauth/userinfo': { methods: { GET: handleUserinfo, POST: handleUserinfo }, cors: true },
  '/device': { methods: { GET: handleDevicePage, POST: handleDevicePage }, cors: false },
};

/** The OAuth paths, for mounting in the data-plane router. */
export const OAUTH_PATHS: readonly string[] = Object.keys(OAUTH_ROUTES);

/**
 * The identity plane's router: the response for an OAuth/OIDC path, or null when the path is
 * not one of ours. Unsupported methods get 405.
 */
export function routeOAuth(request: Request): Promise<Response> | null {
  const route = OAUTH_ROUTES[new URL(request.url).pathname];
  if (!route) return null;
  const allowed = Object.keys(route.methods).join(', ');
  if (request.method === 'OPTIONS' && route.cors) return Promise.resolve(preflight(allowed));
  // HEAD only where GET has no side effects (the published documents).
  const method = request.method === 'HEAD' && route.cors && !route.methods.POST ? 'GET' : request.method;
  const handler = route.methods[method as 'GET' | 'POST'];
  if (!handler) {
    return Promise.resolve(Response.json({ error: 'invalid_request', error_description: `use ${allowed}` }, { status: 405, headers: { allow: allowed } }));
  }
  return handler(request);
}
