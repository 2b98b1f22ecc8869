import { organisationCaPem } from '@/lib/mcpb';
import { recordIssuedChecksum } from './checksums';
import { claudeCodeManagedSettings, claudeCodeRegFile, claudeCodeSettingsChecksum, claudeCodeSettingsFile } from './claude-code';
import { buildMobileconfig } from './mobileconfig';
import { desktopPolicy, type RolloutContext } from './profile';
import { desktopRegFile } from './reg';

/** The files the Rollout page and `gatehouse mdm` produce. */
export const ARTIFACT_KINDS = ['desktop-mobileconfig', 'desktop-reg-hkcu', 'desktop-reg-hklm', 'claude-code-json', 'claude-code-reg-hklm'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface Artifact {
  filename: string;
  contentType: string;
  body: Buffer;
}

function slugOf(context: RolloutContext): string {
  return context.tenant.slug.replace(/[^A-Za-z0-9-]/g, '-') || 'gatehouse';
}

export interface ArtifactOptions {
  /**
   * The macOS profile also installs the organisation's desktop-extension CA (lib/mcpb, created on
   * first use) as a trusted root, so the bundles Gatehouse signs are accepted.
   */
  organisationExtensionCa?: boolean;
}

/** The CAs a macOS profile installs: the organisation's when asked for, and the one pasted on the Rollout page. */
async function extensionCaPems(context: RolloutContext, options: ArtifactOptions): Promise<string[]> {
  const pems = options.organisationExtensionCa ? [await organisationCaPem()] : [];
  if (context.settings.extensionSigningCaPem) pems.push(context.settings.extensionSigningCaPem);
  return pems;
}

/**
 * One rollout file from live configuration. A Claude Code settings file's checksum is recorded as
 * issued, so machines running it count as current on the Rollout page.
 */
export async function generateArtifact(context: RolloutContext, kind: ArtifactKind, options: ArtifactOptions = {}): Promise<Artifact> {
  const slug = slugOf(context);
  switch (kind) {
    case 'desktop-mobileconfig': {
      const caPems = await extensionCaPems(context, options);
      // A profile that installs a trusted extension CA also requires signatures, whatever the
      // page's extra keys say: trusting a publisher is pointless while unsigned extensions install.
      const policy = caPems.length ? { ...desktopPolicy(context), isDesktopExtensionSignatureRequired: 'true' } : desktopPolicy(context);
      return {
        filename: `${slug}-claude-desktop${options.organisationExtensionCa ? '-with-extension-ca' : ''}.mobileconfig`,
        contentType: 'application/x-apple-aspen-config',
        body: Buffer.from(buildMobileconfig({ tenant: context.tenant, policy, caPems })),
      };
    }
    case 'desktop-reg-hkcu':
    case 'desktop-reg-hklm':
      return {
        filename: `${slug}-claude-desktop-${kind === 'desktop-reg-hkcu' ? 'user' : 'machine'}.reg`,
        contentType: 'text/plain; charset=utf-16le',
        body: desktopRegFile(desktopPolicy(context), kind === 'desktop-reg-hkcu' ? 'HKEY_CURRENT_USER' : 'HKEY_LOCAL_MACHINE'),
      };
    case 'claude-code-json':
    case 'claude-code-reg-hklm': {
      // The registry is for Windows machines: the helper there is helperPathWindows.
      const settings = claudeCodeManagedSettings(context, kind === 'claude-code-json' ? 'posix' : 'windows');
      await recordIssuedChecksum(context.tenant.id, claudeCodeSettingsChecksum(settings), 'file');
      return kind === 'claude-code-json'
        ? { filename: 'managed-settings.json', contentType: 'application/json', body: Buffer.from(claudeCodeSettingsFile(settings)) }
        : { filename: `${slug}-claude-code-machine.reg`, contentType: 'text/plain; charset=utf-16le', body: claudeCodeRegFile(settings, 'HKEY_LOCAL_MACHINE') };
    }
  }
}
