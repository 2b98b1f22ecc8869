import { routeOAuth } from './routes';

/**
 * For the App Router route files under app/.well-known, app/oauth and app/device, so `next dev`
 * serves the same handlers the Gatehouse server answers on its data-plane path.
 */
export function serveOAuthRoute(request: Request): Promise<Response> {
  return routeOAuth(request) ?? Promise.resolve(Response.json({ error: 'not_found' }, { status: 404 }));
}
