/**
 * POST /v1/messages/count_tokens: the same caller, permission, size, model and content checks as
 * a Messages request (the prompt goes to an upstream here too, so secrets are redacted and the
 * blocklist applies), then the route's upstream counts. Not billed, so no budgets and no
 * inference events, but a requests-per-minute limit of its own (limits.count_tokens_per_minute,
 * checked by withGatewayCaller): counting uses the organisation's upstream account. Policy
 * refusals are audited as for Messages.
 */
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import type { GatewayRequestContext } from './auth';
import { UpstreamUnavailableError } from './contracts';
import { anthropicError } from './errors';
import { preflight } from './handler';
import { dispatchCountTokens } from './upstreams';

export async function handleCountTokens(request: DataPlaneRequest, context: GatewayRequestContext): Promise<Response> {
  const admitted = await preflight(request, context, { requireMaxTokens: false });
  if (admitted instanceof Response) return admitted;
  const { body, route, caller } = admitted;
  try {
    return await dispatchCountTokens({ body, stream: false, headers: request.headers, decision: route, caller, signal: request.signal });
  } catch (error) {
    if (error instanceof UpstreamUnavailableError) {
      return error.overloaded
        ? anthropicError('overloaded_error', `the upstreams serving ${body.model} are overloaded; try again shortly`)
        : anthropicError('api_error', `no upstream could count tokens for ${body.model} right now; try again shortly`);
    }
    if (request.clientGone) return anthropicError('api_error', 'the client went away');
    throw error;
  }
}
