import { serveOAuthRoute } from '@/lib/oauth/next-route';

// Under `next dev`/`next start`; the Gatehouse server answers /.well-known/openid-configuration before Next sees it.
export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return serveOAuthRoute(request);
}

export function OPTIONS(request: Request): Promise<Response> {
  return serveOAuthRoute(request);
}
