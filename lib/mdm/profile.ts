import type { GatehouseConfig } from '@/lib/config';
import type { OrganisationMcpDistribution } from '@/lib/mcp/allowlist/distribution';
import { desktopMarketplaceEntry } from '@/lib/plugins/marketplace-manifest';
import { encodeDesktopPolicy, type DesktopPolicy, type PolicyValue } from './encode';
import type { ToolPolicyRule } from '@/lib/tool-policy';
import type { RolloutSettings } from './settings';

/** Everything a device profile is computed from, read fresh whenever one is generated. */
export interface RolloutContext {
  tenant: { id: string; name: string; slug: string };
  /** The installation's public URL (the issuer). */
  publicUrl: string;
  config: GatehouseConfig;
  accessTokenTtlSeconds: number;
  settings: RolloutSettings;
  /** The skills MCP server's URL when this installation serves one. */
  skillsMcpUrl: string | null;
  /** Whether this installation serves the per-user plugin marketplace (/marketplace.json). */
  servesMarketplace: boolean;
  /** The tenant's tool policy rules when the governance hooks are on (their fail modes shape the hooks); else empty. */
  toolPolicyRules: readonly ToolPolicyRule[];
  /** The organisation's MCP allowlist in client shapes, once it registers MCP servers (lib/mcp/allowlist). */
  mcp?: OrganisationMcpDistribution | null;
}

/** The skills MCP server's Desktop entry (signed in with OAuth, like the registry's servers). */
export function skillsServerEntry(skillsMcpUrl: string): Record<string, PolicyValue> {
  return { name: SKILLS_SERVER_NAME, transport: 'http', url: skillsMcpUrl, oauth: true };
}

const SKILLS_SERVER_NAME = 'gatehouse-skills';

/**
 * Desktop's managedMcpServers: the skills server when offered, then the registry's servers (at
 * the MCP proxy, each with its toolPolicy); a registered server cannot take the skills server's name.
 */
export function managedMcpServerEntries(skillsMcpUrl: string | null, registered: readonly Record<string, PolicyValue>[]): PolicyValue[] {
  return [...(skillsMcpUrl ? [skillsServerEntry(skillsMcpUrl)] : []), ...registered.filter((entry) => entry.name !== SKILLS_SERVER_NAME)];
}

/** The URL devices reach the gateway at: the Rollout page's choice, else the public URL. */
export function gatewayUrlOf(context: RolloutContext): string {
  return context.settings.gatewayUrl || context.publicUrl;
}

/** The models the gateway serves, the default one first (Desktop's first entry is its default). */
export function modelList(config: GatehouseConfig): string[] {
  const ids = Object.keys(config.models);
  const preferred = config.gateway.default_model;
  return preferred && ids.includes(preferred) ? [preferred, ...ids.filter((id) => id !== preferred)] : ids;
}

/**
 * How long Desktop may reuse the helper's answer: the access token's lifetime less two minutes,
 * matching the helper's own early renewal, so Desktop never sends a token about to expire.
 */
export function helperTtlSeconds(context: RolloutContext): number {
  return Math.max(60, context.accessTokenTtlSeconds - 120);
}

/** The helper's arguments: the server, and Cowork's JSON form with the canonical headers. */
export function helperArgs(context: RolloutContext): string[] {
  return ['--server', gatewayUrlOf(context), '--format', 'json'];
}

/**
 * The Claude Desktop (Cowork) policy for the organisation, as structured values: third-party
 * inference through the gateway, credentials from gatehouse-helper, no login-mode chooser, no
 * local MCP servers or unsigned extensions, the gateway's models, the organisation's plugin
 * marketplace and skills server, telemetry to the gateway, and
 * whatever the administrator added on the Rollout page (which wins).
 */
export function desktopPolicyValues(context: RolloutContext): Record<string, PolicyValue> {
  const gateway = gatewayUrlOf(context);
  const values: Record<string, PolicyValue> = {
    inferenceProvider: 'gateway',
    inferenceGatewayBaseUrl: gateway,
    inferenceGatewayAuthScheme: 'bearer',
    inferenceCredentialKind: 'helper-script',
    inferenceCredentialHelper: context.settings.helperPath,
    inferenceCredentialHelperWindows: context.settings.helperPathWindows,
    inferenceCredentialHelperArgs: helperArgs(context),
    inferenceCredentialHelperTtlSec: helperTtlSeconds(context),
    // A first sign-in opens the browser from the helper; give the person time to finish it.
    inferenceCredentialHelperTimeoutSec: 300,
    inferenceCredentialHelperSilentRefreshEnabled: true,
    disableDeploymentModeChooser: true,
    deploymentDisplayName: context.tenant.name.slice(0, 60),
    isLocalDevMcpEnabled: false,
    isDesktopExtensionSignatureRequired: true,
    otlpEndpoint: gateway,
    otlpProtocol: 'http/protobuf',
    otlpAuthMode: 'inference-credential',
  };
  const models = modelList(context.config);
  if (models.length) values.inferenceModels = models;
  if (context.servesMarketplace) values.allowedPluginMarketplaces = [desktopMarketplaceEntry({ origin: gateway, tenantSlug: context.tenant.slug })];
  // An organisation-wide profile carries the servers scoped to everyone with the tool policy of
  // rules for everyone; the bootstrap overlay replaces them with the person's own.
  const managed = managedMcpServerEntries(context.skillsMcpUrl, context.mcp?.desktopServers ?? []);
  if (managed.length) values.managedMcpServers = managed;
  if (context.settings.organizationInstructions) values.organizationInstructions = context.settings.organizationInstructions;
  return { ...values, ...(context.settings.extraDesktopKeys as Record<string, PolicyValue>) };
}

export function desktopPolicy(context: RolloutContext): DesktopPolicy {
  return encodeDesktopPolicy(desktopPolicyValues(context));
}
