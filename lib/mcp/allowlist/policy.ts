import { toolPolicyFor } from '@/lib/tool-policy';
import type { Principal } from '@/lib/tokens';
import type { ToolPolicyMap } from './documents';
import type { ApprovedServer } from './source';

/**
 * The person's tool policy for a server in Desktop's toolPolicy shape (lib/tool-policy decides).
 * `null` asks for the organisation-wide baseline: a principal with no user, role or department,
 * so only rules for everyone apply — what a profile shared by every device can carry. Remote
 * servers are called through the proxy, local ones are seen by the governance hooks; the policy
 * is taken for that call source. The proxy and the hooks decide every call again; this lets
 * Desktop apply the same decisions before a call is made.
 */
export async function toolPolicyOf(principal: Principal | null, server: ApprovedServer): Promise<ToolPolicyMap> {
  const who = principal ?? { userId: '', tenantId: server.tenantId, department: null, roles: [] };
  return toolPolicyFor({
    principal: who,
    server: server.name,
    tools: server.approvedVersion.tools.map((tool) => tool.name),
    context: { callSource: server.transport === 'stdio' ? 'hook' : 'proxy', clientId: null, at: new Date() },
    // Only servers in the person's scope (or, for the baseline, scoped to everyone) reach here.
    inScope: true,
  });
}
