import { createHash } from 'node:crypto';
import { tenantSlug } from '@/lib/users/tenant';
import { entitledPlugins, type SetSubject } from './entitled';

/**
 * The per-user marketplace in Claude Code's format (`.claude-plugin/marketplace.json`): the same
 * entitled set the sync agent writes, each plugin's source a ZIP archive Gatehouse serves (an
 * `archive` source with its sha256: a `url` source would be cloned with git), so Claude Code's
 * declared marketplace and Desktop's `allowedPluginMarketplaces` see exactly what entitlements
 * allow. Deterministic for a given set, so its sha256 can be pinned (`manifestSha256`).
 */
export async function marketplaceFor(subject: SetSubject, origin: string): Promise<{ body: string; sha256: string }> {
  const plugins = await entitledPlugins(subject);
  const slug = (await tenantSlug(subject.tenantId)) ?? 'org';
  const document = {
    $schema: 'https://anthropic.com/claude-code/marketplace.schema.json',
    name: marketplaceName(slug),
    description: 'Plugins your organisation approved for you, served by Gatehouse',
    owner: { name: slug },
    plugins: plugins.map((plugin) => ({
      name: plugin.name,
      description: plugin.description,
      version: plugin.version,
      category: plugin.category,
      source: { source: 'archive', url: `${origin}${plugin.archive}`, sha256: plugin.archiveSha256 },
    })),
  };
  const body = `${JSON.stringify(document, null, 2)}\n`;
  return { body, sha256: createHash('sha256').update(body).digest('hex') };
}

export function marketplaceName(tenantSlugValue: string): string {
  return `gatehouse-${tenantSlugValue}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}

export type InstallationPreference = 'available' | 'auto_install' | 'required';

/**
 * The Claude Desktop `allowedPluginMarketplaces` entry for this marketplace, for MDM profiles: a
 * `url` source on the gateway's own origin sending the inference credential. `auto_install` and
 * `required` need pinning, so they take the manifest's sha256 (one user's manifest).
 */
export function desktopMarketplaceEntry(options: { origin: string; tenantSlug: string; preference?: InstallationPreference; manifestSha256?: string }): Record<string, string> {
  const preference = options.preference ?? 'available';
  if (preference !== 'available' && !options.manifestSha256) throw new Error(`installationPreference ${preference} requires manifestSha256 (pinning)`);
  return {
    source: 'url',
    url: `${options.origin}/marketplace.json`,
    credentialKind: 'inferenceCredential',
    installationPreference: preference,
    expectedName: marketplaceName(options.tenantSlug),
    ...(options.manifestSha256 ? { manifestSha256: options.manifestSha256 } : {}),
  };
}

/**
 * Claude Code's `extraKnownMarketplaces` entry for this marketplace, for managed settings: a `url`
 * source whose headersHelper prints the user's Authorization header. Claude Code records a declared
 * marketplace when a session starts, and sends the helper's headers for the manifest and for the
 * archives on the same origin; `claude plugin marketplace add` cannot take headers, so a declaration
 * is the way in for an authenticated marketplace.
 */
export function claudeCodeMarketplaceDeclaration(options: { origin: string; tenantSlug: string; headersHelper: string }): Record<string, { source: Record<string, string> }> {
  return { [marketplaceName(options.tenantSlug)]: { source: { source: 'url', url: `${options.origin}/marketplace.json`, headersHelper: options.headersHelper } } };
}
