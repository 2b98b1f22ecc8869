import { settingsChecksum } from '@/lib/gateway/endpoints/managed-settings';
import { governanceHookSettings, helperInvocation, type HookTransport } from '@/lib/governance-hooks/settings';
import { claudeCodeMarketplaceDeclaration } from '@/lib/plugins/marketplace-manifest';
import { isRecord } from '@/lib/platform/json';
import { quoteFor, type Shell } from '@/lib/platform/shell';
import { MdmError } from './errors';
import { gatewayUrlOf, modelList, type RolloutContext } from './profile';
import { buildRegFile, type RegistryHive } from './reg';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type ClaudeCodeSettings = { [key: string]: Json };

/** Where Claude Code reads the machine-wide managed-settings.json on each system. */
export const CLAUDE_CODE_SETTINGS_PATHS = {
  macos: '/Library/Application Support/ClaudeCode/managed-settings.json',
  linux: '/etc/claude-code/managed-settings.json',
  windows: 'C:\\Program Files\\ClaudeCode\\managed-settings.json',
} as const;

/**
 * Top-level keys of Claude Code's settings that Gatehouse writes or lets gatehouse.yaml's
 * managed_settings pass through (from the client's embedded settings schema). Anything else is
 * refused: a misspelt key would be silently ignored on every laptop.
 */
export const CLAUDE_CODE_SETTINGS_KEYS: ReadonlySet<string> = new Set([
  'apiKeyHelper',
  'otelHeadersHelper',
  'env',
  'model',
  'availableModels',
  'enforceAvailableModels',
  'forceLoginMethod',
  'forceLoginGatewayUrl',
  'gatewayInternalNetworks',
  'permissions',
  'hooks',
  'allowManagedHooksOnly',
  'allowManagedPermissionRulesOnly',
  'allowedHttpHookUrls',
  'httpHookAllowedEnvVars',
  'allowedMcpServers',
  'deniedMcpServers',
  'managedMcpServers',
  'allowManagedMcpServersOnly',
  'desktopMcpServersListScope',
  'strictKnownMarketplaces',
  'allowedMarketplaces',
  'extraKnownMarketplaces',
  'additionalMarketplaces',
  'blockedMarketplaces',
  'enabledPlugins',
  'strictPluginOnlyCustomization',
  'disableCommandPluginSources',
  'parentSettingsBehavior',
  'cleanupPeriodDays',
  'includeCoAuthoredBy',
  'disableAllHooks',
  'statusLine',
  'outputStyle',
]);

/** Lists joined without duplicates, objects merged key by key; otherwise the second wins. */
function joined(first: Json | undefined, second: Json): Json {
  if (Array.isArray(first) && Array.isArray(second)) {
    const seen = new Set(first.map((item) => JSON.stringify(item)));
    return [...first, ...second.filter((item) => !seen.has(JSON.stringify(item)))];
  }
  if (isRecord(first) && isRecord(second)) return { ...first, ...second } as Json;
  return second;
}

/** The seven-header set's static part: values the same for every person on the machine. */
function customHeaders(context: RolloutContext): string {
  return [`x-tenant-id: ${context.tenant.id}`, 'x-call-source: claude_code'].join('\n');
}

/**
 * The governance hooks and the keys pinning them, over whatever gatehouse.yaml set: hook entries
 * of the same event are kept beside ours (managed hooks all run), the pins are ours.
 */
function addGovernanceHooks(settings: ClaudeCodeSettings, governance: ClaudeCodeSettings): void {
  const existing = isRecord(settings.hooks) ? (settings.hooks as { [event: string]: Json }) : {};
  const ours = governance.hooks as { [event: string]: Json[] };
  const hooks: { [event: string]: Json } = { ...existing };
  for (const [event, entries] of Object.entries(ours)) hooks[event] = [...(Array.isArray(existing[event]) ? existing[event] : []), ...entries];
  Object.assign(settings, governance, { hooks });
}

/**
 * Claude Code's managed-settings.json for the organisation. `gateway`: people sign in with /login
 * through the gateway (Claude Code then also reads /managed/settings per person). `helper`: Claude
 * Code calls the gateway at ANTHROPIC_BASE_URL with keys from gatehouse-helper. Both report
 * telemetry to the gateway and send the managed-settings checksum hint so stale machines show up on
 * the Rollout page; settings from gatehouse.yaml that apply to everyone are merged in. `shell`:
 * the machines' — Windows runs the helper installed at helperPathWindows, double-quoted.
 */
export function claudeCodeManagedSettings(context: RolloutContext, shell: Shell = 'posix'): ClaudeCodeSettings {
  const gateway = gatewayUrlOf(context);
  const helperPath = shell === 'windows' ? context.settings.helperPathWindows : context.settings.helperPath;
  // POSIX machines run the helper's file with the Node chosen at install time (helperInvocation).
  const helperTransport = { path: helperPath, shell, node: shell === 'posix' ? context.settings.nodePath : undefined };
  const env: Record<string, string> = {
    CLAUDE_CODE_GATEWAY_HINT_HEADERS: '1',
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_ENDPOINT: gateway,
    CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY: '1',
  };
  const settings: ClaudeCodeSettings = {};
  if (context.settings.claudeCodeSignIn === 'gateway') {
    settings.forceLoginMethod = 'gateway';
    settings.forceLoginGatewayUrl = gateway;
  } else {
    const helper = helperInvocation(helperTransport);
    const server = quoteFor(shell, gateway);
    settings.apiKeyHelper = `${helper} --server ${server}`;
    settings.otelHeadersHelper = `${helper} otel-headers --server ${server}`;
    // The per-user plugin marketplace, authenticated by the same helper (gateway sign-in leaves no
    // helper signed in to print the header, so that mode relies on the org-plugins folder).
    if (context.servesMarketplace) {
      settings.extraKnownMarketplaces = claudeCodeMarketplaceDeclaration({ origin: gateway, tenantSlug: context.tenant.slug, headersHelper: `${helper} headers --server ${server}` });
    }
    env.ANTHROPIC_BASE_URL = gateway;
    env.ANTHROPIC_CUSTOM_HEADERS = customHeaders(context);
  }
  // For everyone: entries of gatehouse.yaml's managed_settings without a match.
  for (const entry of context.config.managed_settings) {
    if (entry.match && Object.keys(entry.match).length) continue;
    for (const [key, value] of Object.entries(entry.settings as ClaudeCodeSettings)) {
      if (key === 'env' && isRecord(value)) Object.assign(env, value);
      else settings[key] = value;
    }
  }
  // The organisation's MCP allowlist: servers for everyone delivered, the organisation's servers
  // allowed (the proxy checks each person's scope), upstreams and revoked servers denied. Lists
  // from gatehouse.yaml are kept beside them.
  for (const [key, value] of Object.entries(context.mcp?.claudeCodeSettings ?? {})) settings[key] = joined(settings[key], value);
  const models = modelList(context.config);
  if (models.length && settings.availableModels === undefined) settings.availableModels = models;
  if (settings.model === undefined && context.config.gateway.default_model) settings.model = context.config.gateway.default_model;
  settings.env = env;
  if (context.settings.claudeCodeGovernanceHooks === 'on') {
    // Signed in with the helper, the hooks run it too: its sign-in is the token, nothing to set up.
    // Signed in through the gateway, Claude Code keeps its token to itself: HTTP hooks read one
    // from GATEHOUSE_TOKEN, which the device has to provide.
    const transport: HookTransport = context.settings.claudeCodeSignIn === 'helper' ? { kind: 'helper', ...helperTransport } : { kind: 'http' };
    addGovernanceHooks(settings, governanceHookSettings(gateway, context.toolPolicyRules, { transport }));
  }
  for (const key of Object.keys(settings)) {
    if (!CLAUDE_CODE_SETTINGS_KEYS.has(key)) throw new MdmError(`${key} is not a Claude Code setting Gatehouse writes (check managed_settings in gatehouse.yaml)`);
  }
  return settings;
}

export function claudeCodeSettingsFile(settings: ClaudeCodeSettings): string {
  return `${JSON.stringify(settings, null, 2)}\n`;
}

/** Windows machines' settings (claudeCodeManagedSettings(context, 'windows')) for the registry: value `Settings`, one JSON string. */
export function claudeCodeRegFile(settings: ClaudeCodeSettings, hive: RegistryHive): Buffer {
  return buildRegFile(`${hive}\\SOFTWARE\\Policies\\ClaudeCode`, { Settings: JSON.stringify(settings) });
}

/** The checksum Claude Code reports for these settings when it runs under exactly them. */
export function claudeCodeSettingsChecksum(settings: ClaudeCodeSettings): string {
  return settingsChecksum(settings);
}
