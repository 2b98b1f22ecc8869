/**
 * What crosses the gateway in each direction. Requests: only headers the upstream needs to answer
 * the way api.anthropic.com would; never the client's credential. Responses: an allow-list, so
 * hop-by-hop headers, the upstream's own `anthropic-ratelimit-*` (the company's org-wide quota,
 * not the user's) and account identifiers (`anthropic-organization-id`, cloud request ids with
 * account data) cannot reach the client.
 */
import type { GatewayCaller, UpstreamTarget } from '@/lib/gateway/contracts';
import type { HeaderReader } from '@/lib/http/data-plane-request';
import { upstreamTuning } from './tuning';

/** Client headers an Anthropic upstream gets unchanged. */
const ANTHROPIC_FORWARDED = ['anthropic-version', 'anthropic-beta', 'accept', 'user-agent', 'x-app'];

export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

export function forwardedAnthropicHeaders(client: HeaderReader): Headers {
  const headers = new Headers();
  for (const name of ANTHROPIC_FORWARDED) {
    const value = client.get(name);
    if (value !== null) headers.set(name, value);
  }
  client.forEach((value, name) => {
    if (name.startsWith('x-stainless-')) headers.set(name, value);
  });
  if (!headers.has('anthropic-version')) headers.set('anthropic-version', DEFAULT_ANTHROPIC_VERSION);
  headers.set('content-type', 'application/json');
  return headers;
}

/** The provider's credential, from the environment variable the config names. */
export function upstreamApiKey(target: UpstreamTarget): string | undefined {
  if (target.apiKeyEnv === undefined) return undefined;
  const key = process.env[target.apiKeyEnv];
  if (!key) upstreamTuning().logger.warn('provider credential variable is unset or empty', { provider: target.provider, variable: target.apiKeyEnv });
  return key || undefined;
}

/** Static provider headers, then attribution when the provider is one the company runs itself. */
export function applyProviderHeaders(headers: Headers, target: UpstreamTarget, caller: GatewayCaller): void {
  for (const [name, value] of Object.entries(target.headers ?? {})) headers.set(name, value);
  if (target.forwardAttribution) {
    headers.set('x-gatehouse-user', caller.principal.userId);
    headers.set('x-gatehouse-session', caller.sessionId ?? caller.principal.sessionId);
    headers.set('x-trace-id', caller.traceId);
  }
}

/** Upstream response headers worth relaying; everything else stays behind. */
const RELAYED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'request-id', 'retry-after', 'retry-after-ms'];

export function relayedResponseHeaders(upstream: Headers): Headers {
  const headers = new Headers();
  for (const name of RELAYED_RESPONSE_HEADERS) {
    const value = upstream.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}
