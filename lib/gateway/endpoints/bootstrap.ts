import type { GatewayRequestContext } from '@/lib/gateway/auth';
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import { bootstrapOverlay, BOOTSTRAP_TTL_SECONDS } from '@/lib/mdm/bootstrap';
import { desktopServersFor } from '@/lib/mcp/allowlist/distribution';
import { rolloutContext } from '@/lib/mdm/context';
import { authorize } from '@/lib/rbac';

/**
 * GET /api/v1/bootstrap: the JSON overlay Claude Desktop fetches from its `bootstrapUrl` with the
 * person's gateway credential, computed from the organisation's rollout settings and the person's
 * department and roles. Private to the person; Desktop caches it until `expiresAt`.
 */
export async function handleBootstrap(_request: DataPlaneRequest, context: GatewayRequestContext): Promise<Response> {
  const { principal } = context.caller;
  const rollout = await rolloutContext(principal.tenantId);
  const mayUseSkills = await authorize(principal, 'skills.read', { departmentSlug: principal.department });
  const mcpServers = await desktopServersFor(principal, rollout.publicUrl);
  return Response.json(bootstrapOverlay(rollout, { mayUseSkills, mcpServers }), { headers: { 'cache-control': `private, max-age=${BOOTSTRAP_TTL_SECONDS}` } });
}
