import { signedInUser } from '@/lib/oauth/browser-session';
import { UPSTREAM_CALLBACK_PATH } from './client';
import { completeConnect } from './connect';
import { connectionsPageUrl } from './session';

export { UPSTREAM_CALLBACK_PATH };

/**
 * GET /mcp/oauth/callback: where a registered server's authorization server sends the browser
 * back. Finishes the connection for whoever this browser is signed in as (connect.ts decides
 * whether that is the person who started it) and sends them to their connections page with the
 * outcome as a fixed code. The code and state in this URL never go further: no referrer, no cache.
 */
export async function handleUpstreamCallback(request: Request): Promise<Response> {
  const headers = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };
  if (request.method !== 'GET') return new Response('use GET', { status: 405, headers: { ...headers, allow: 'GET' } });
  const user = await signedInUser(request);
  const outcome = await completeConnect(new URL(request.url), user ? { userId: user.userId, tenantId: user.tenantId, email: user.email, roles: user.roles } : null);
  const page = connectionsPageUrl(outcome.serverName ?? undefined);
  page.searchParams.set('result', outcome.result);
  return new Response(null, { status: 303, headers: { ...headers, location: page.toString() } });
}
