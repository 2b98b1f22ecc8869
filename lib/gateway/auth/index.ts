import type { ConfigSnapshot } from '@/lib/config';
import type { GatewayCaller } from '@/lib/gateway/contracts';
import { anthropicError } from '@/lib/gateway/errors';
import { callRecord, countRejectedToken, recordPolicyDecision, type CallRecord } from '@/lib/gateway/evidence';
import { gatewayAudience } from '@/lib/oauth/issuer';
import { AccessTokenError, anthropicAuthenticationError, bearerToken, type Principal } from '@/lib/tokens';
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import { tenantSlug } from '@/lib/users/tenant';
import type { CanonicalHeaders } from './headers';
import { verifyGatewayToken } from './token-cache';

export { generateTraceId, readCanonicalHeaders, readTraceIdLeniently, type CanonicalHeaders } from './headers';
export { clearTokenCache, verifyGatewayToken } from './token-cache';

export type Authentication = { ok: true; caller: GatewayCaller; record: CallRecord } | { ok: false; response: Response };

/**
 * The access token of a gateway request: `Authorization: Bearer`, or `x-api-key` (what the
 * Anthropic SDK and Claude Code with an apiKeyHelper send; often both, with the same value).
 */
function tokenOf(request: DataPlaneRequest): string | null {
  return bearerToken(request) ?? (request.headers.get('x-api-key')?.trim() || null);
}

/** Whether x-tenant-id names the token's tenant: by id, or by its slug (what people know it by). */
async function namesTenant(claimed: string, principal: Principal): Promise<boolean> {
  if (claimed.toLowerCase() === principal.tenantId.toLowerCase()) return true;
  const slug = await tenantSlug(principal.tenantId);
  return slug !== null && claimed.toLowerCase() === slug.toLowerCase();
}

/** Which identity header, if any, names someone other than the token's subject, and what it claimed. */
async function contradiction(principal: Principal, headers: CanonicalHeaders): Promise<{ header: string; claimed: string } | null> {
  const { userId, tenantId, clientId } = headers;
  // x-user-id may name the user by id or by email.
  if (userId !== null && userId !== principal.userId && userId.toLowerCase() !== principal.email.toLowerCase()) return { header: 'x-user-id', claimed: userId };
  if (tenantId !== null && !(await namesTenant(tenantId, principal))) return { header: 'x-tenant-id', claimed: tenantId };
  if (clientId !== null && clientId !== principal.clientId) return { header: 'x-client-id', claimed: clientId };
  return null;
}

/**
 * Who is calling: the identity plane's access token for this gateway's audience, checked for
 * expiry, signature and revocation (401 otherwise, counted in the audit trail per user or address
 * and minute). Identity headers may repeat what the token says but never contradict it: a
 * contradiction is refused (403) and audited as spoofing.
 */
export async function authenticateCaller(request: DataPlaneRequest, headers: CanonicalHeaders, snapshot: ConfigSnapshot): Promise<Authentication> {
  const token = tokenOf(request);
  let principal: Principal;
  try {
    principal = await verifyGatewayToken(token, gatewayAudience());
  } catch (error) {
    if (!(error instanceof AccessTokenError)) throw error;
    await countRejectedToken(request, token, error, headers.traceId);
    return { ok: false, response: anthropicAuthenticationError(error) };
  }
  const caller: GatewayCaller = {
    principal,
    traceId: headers.traceId,
    sessionId: headers.sessionId,
    callSource: headers.callSource,
    clientId: principal.clientId,
    policyVersion: snapshot.policyVersion,
  };
  const record = callRecord(caller, request, headers.policyVersion);
  const spoofed = await contradiction(principal, headers);
  if (spoofed) {
    await recordPolicyDecision(record, {
      action: 'identity.check',
      decision: 'deny',
      rule: 'identity.header_spoof',
      reason: `${spoofed.header} contradicts the access token`,
      status: 403,
      attributes: { header: spoofed.header, claimed: spoofed.claimed },
    });
    return { ok: false, response: anthropicError('permission_error', `${spoofed.header} does not match the signed-in identity; identity comes from your access token`) };
  }
  return { ok: true, caller, record };
}

/** What the router knows about a gateway request before anyone has looked at its caller. */
export interface GatewayRequestBasics {
  headers: CanonicalHeaders;
  /** The configuration in force when the request arrived; the whole request uses this one. */
  snapshot: ConfigSnapshot;
  /** performance.now() when the request arrived. */
  startedAt: number;
}

/** What a gateway handler gets: the request's basics and its authenticated, authorised caller. */
export interface GatewayRequestContext extends GatewayRequestBasics {
  caller: GatewayCaller;
  /** What every audit event of this call shares (who, trace, origin). */
  record: CallRecord;
}
