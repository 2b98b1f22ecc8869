import { configStore } from '@/lib/config';
import { db } from '@/lib/db/client';
import { toolPolicyRules } from '@/lib/governance-hooks/policy';
import { oauthSettings } from '@/lib/oauth/config';
import { organisationMcpDistribution } from '@/lib/mcp/allowlist/distribution';
import { mcpResource } from '@/lib/mcp/resource';
import { configuredIssuer } from '@/lib/oauth/issuer';
import { MdmError } from './errors';
import type { RolloutContext } from './profile';
import { loadRolloutSettings, type RolloutSettings } from './settings';

/**
 * The live inputs of a tenant's device profiles: the configuration in force now, the public URL,
 * token lifetimes and the Rollout page's settings (or `options.settings`, for a preview of unsaved
 * ones). The CLI passes the running server's public URL.
 */
export async function rolloutContext(tenantId: string, options: { settings?: RolloutSettings; publicUrl?: string } = {}): Promise<RolloutContext> {
  const tenant = await db().tenant.findUnique({ where: { id: tenantId }, select: { id: true, name: true, slug: true } });
  if (!tenant) throw new MdmError('no such tenant');
  const settings = options.settings ?? (await loadRolloutSettings(tenantId)).settings;
  const publicUrl = options.publicUrl ?? configuredIssuer();
  // Imported here: the data plane's route table imports the gateway, which imports this module.
  const { matchDataPlane } = await import('@/lib/http/data-plane');
  return {
    tenant,
    publicUrl,
    config: configStore().current().config,
    accessTokenTtlSeconds: oauthSettings().accessTokenTtlSeconds,
    settings,
    // The MCP server's resource identifier (its tokens' audience, what its protected resource
    // metadata names), not the gateway URL: a client refuses metadata naming another resource.
    skillsMcpUrl: matchDataPlane('/mcp') ? mcpResource(publicUrl) : null,
    servesMarketplace: matchDataPlane('/marketplace.json') !== null,
    toolPolicyRules: settings.claudeCodeGovernanceHooks === 'on' ? await toolPolicyRules(tenant.id) : [],
    mcp: await organisationMcpDistribution(tenantId, publicUrl),
  };
}
