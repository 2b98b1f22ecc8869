/**
 * A registered server's target as one person reaches it: every request carries their current
 * access token (Authorization: Bearer), refreshed when it has expired or the upstream answers
 * 401, and throws UpstreamGrantRequired when no usable grant is left. The grant is read on every
 * request, so a disconnect or a revocation takes effect on the next message in every process.
 * Every token used is added to the target's secrets, so its redact() scrubs them from whatever
 * the upstream sends back. The proxy's sessions and the health check (as the checking
 * administrator) both connect through it.
 */
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { UpstreamTarget } from '@/lib/mcp/registry/upstream';
import type { UpstreamFetch } from '@/lib/platform/outbound/upstream-fetch';
import { configuredIssuer } from '@/lib/oauth/issuer';
import { UpstreamGrantRequired } from './errors';
import { currentGrant, type UserGrant } from './tokens';

/** The dashboard's connections page, focused on `serverName` when given (refusals and the callback point there). */
export function connectionsPageUrl(serverName?: string, issuer: string = configuredIssuer()): URL {
  const page = new URL(`${issuer}/mcp-servers/connections`);
  if (serverName) page.searchParams.set('server', serverName);
  return page;
}

/** The dashboard page where a person connects their account to `serverName` (what refusals point to). */
export function connectUrlFor(serverName: string, issuer: string = configuredIssuer()): string {
  return connectionsPageUrl(serverName, issuer).toString();
}

function withBearer(init: RequestInit | undefined, token: string): RequestInit {
  const headers = new Headers(init?.headers);
  headers.set('authorization', `Bearer ${token}`);
  return { ...init, headers };
}

/** `target` (an oauth_user server's) acting as `userId`; throws UpstreamGrantRequired when they have no grant. */
export async function grantedTarget(server: RegisteredServer, target: UpstreamTarget, userId: string): Promise<UpstreamTarget> {
  // Grows as tokens are refreshed; the target's redact() reads it on every call.
  const secrets: string[] = [...target.secrets];
  const connectUrl = connectUrlFor(server.name);
  let used = false;
  const remember = (grant: UserGrant): string => {
    for (const token of [grant.accessToken, grant.refreshToken]) if (token && !secrets.includes(token)) secrets.push(token);
    used = true;
    return grant.accessToken;
  };
  const usable = async (rejected?: string): Promise<string> => {
    const lookup = await currentGrant(server, userId, rejected);
    // A grant that was there and is gone (refused refresh, disconnect) says "connect again".
    if ('missing' in lookup) throw new UpstreamGrantRequired(server.name, connectUrl, used ? 'refresh_failed' : lookup.missing);
    return remember(lookup.grant);
  };
  // Fail before the upstream is contacted at all when there is nothing to send.
  await usable();
  const base = target.fetch;
  const fetch: UpstreamFetch = async (url, init) => {
    const token = await usable();
    const response = await base(url, withBearer(init, token));
    if (response.status !== 401) return response;
    await response.body?.cancel().catch(() => undefined);
    const renewed = await usable(token);
    const retried = await base(url, withBearer(init, renewed));
    if (retried.status !== 401) return retried;
    await retried.body?.cancel().catch(() => undefined);
    throw new UpstreamGrantRequired(server.name, connectUrl, 'rejected');
  };
  return new UpstreamTarget(target.serverId, target.name, target.transport, target.url, target.auth, target.headers, fetch, target.oauth, secrets);
}
