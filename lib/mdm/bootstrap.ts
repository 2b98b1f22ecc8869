import { DESKTOP_POLICY_KEYS } from './desktop-keys';
import type { PolicyValue } from './encode';
import { desktopPolicyValues, managedMcpServerEntries, type RolloutContext } from './profile';

/** Keys Desktop refuses from a bootstrap server (telemetry and the model list stay device-managed). */
const NOT_SERVABLE = new Set(['otlpEndpoint', 'otlpProtocol', 'otlpHeaders', 'otlpAuthMode', 'otlpHeadersHelper', 'otlpResourceAttributes', 'inferenceModels']);
/** The bootstrap source's own keys: serving them back would be circular. */
const SOURCE_KEYS = new Set(['bootstrapUrl', 'bootstrapEnabled', 'bootstrapOidc', 'bootstrapHeaders', 'bootstrapHeadersHelper', 'trustBootstrapDelivery']);
/** How long Desktop may cache the overlay (it refetches at launch and after this). */
export const BOOTSTRAP_TTL_SECONDS = 3600;

/**
 * The per-user overlay Desktop fetches from `bootstrapUrl`: the organisation's policy for this
 * person, as flat v1 keys with structured values. Models are discovered from the gateway, which
 * lists only those the person's department and roles may use; the skills MCP server is offered
 * only to people allowed to use skills, and the MCP servers are the person's own allowlist (their
 * scope, their tool policy; null when the organisation registered none). It replaces Desktop's
 * settings for every key it may carry, so it always carries the full set.
 */
export function bootstrapOverlay(context: RolloutContext, person: { mayUseSkills: boolean; mcpServers?: readonly Record<string, PolicyValue>[] | null }, now = Date.now()): Record<string, PolicyValue> {
  const overlay: Record<string, PolicyValue> = { $schemaVersion: 1, expiresAt: Math.floor(now / 1000) + BOOTSTRAP_TTL_SECONDS };
  for (const [key, value] of Object.entries(desktopPolicyValues(context))) {
    if (NOT_SERVABLE.has(key) || SOURCE_KEYS.has(key) || !DESKTOP_POLICY_KEYS[key]) continue;
    overlay[key] = value;
  }
  overlay.modelDiscoveryEnabled = true;
  const managed = managedMcpServerEntries(person.mayUseSkills ? context.skillsMcpUrl : null, person.mcpServers ?? context.mcp?.desktopServers ?? []);
  if (managed.length) overlay.managedMcpServers = managed;
  else delete overlay.managedMcpServers;
  return overlay;
}
