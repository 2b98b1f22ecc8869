import type { Principal } from '@/lib/tokens';
import type { ToolPolicyMap } from './documents';
import type { ApprovedServer } from './source';

/**
 * The person's tool policy for a server in Desktop's toolPolicy shape; `null` asks for the
 * organisation-wide baseline (rules for everyone), what a profile shared by every device can
 * carry. Empty until the policy engine's rule loading lands (lib/tool-policy runtime): the proxy
 * enforces every call either way; this only lets Desktop apply the same decisions up front.
 */
export async function toolPolicyOf(principal: Principal | null, server: ApprovedServer): Promise<ToolPolicyMap> {
  return principal && server ? {} : {};
}
