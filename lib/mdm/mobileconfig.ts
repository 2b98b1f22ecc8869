import { createHash } from 'node:crypto';
import { build, type PlistValue } from 'plist';
import { v5 as uuidv5 } from 'uuid';
import type { DesktopPolicy } from './encode';

// Namespace for the profile's UUIDs: one organisation always gets the same identifiers, so a new
// download replaces the installed profile instead of adding a second one.
const PROFILE_NAMESPACE = '6f1d3c2a-8b4e-5a7f-9c1d-2e3f4a5b6c7d';
const DESKTOP_DOMAIN = 'com.anthropic.claudefordesktop';

export interface MobileconfigInput {
  tenant: { id: string; name: string; slug: string };
  policy: DesktopPolicy;
  /** PEMs of CAs to install as trusted roots (they sign the organisation's desktop extensions). */
  caPems?: readonly string[];
}

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64');
}

/**
 * A macOS configuration profile: one payload for Claude Desktop's preference domain holding the
 * policy (every value a <string>), and, when given, a certificate payload (com.apple.security.root)
 * per extension-signing CA. PayloadVersion rises with nothing: identifiers are stable, content says the rest.
 */
export function buildMobileconfig(input: MobileconfigInput): string {
  const slug = input.tenant.slug.replace(/[^A-Za-z0-9.-]/g, '-');
  const uuid = (purpose: string) => uuidv5(`${input.tenant.id}:${purpose}`, PROFILE_NAMESPACE).toUpperCase();
  const identifierBase = `gatehouse.${slug}`;
  const content: Record<string, PlistValue>[] = [
    {
      PayloadType: DESKTOP_DOMAIN,
      PayloadIdentifier: `${identifierBase}.claude-desktop`,
      PayloadUUID: uuid('claude-desktop'),
      PayloadVersion: 1,
      PayloadDisplayName: 'Claude Desktop through Gatehouse',
      ...input.policy,
    },
  ];
  for (const pem of input.caPems ?? []) {
    const der = derOf(pem);
    const digest = createHash('sha256').update(der).digest('hex');
    content.push({
      PayloadType: 'com.apple.security.root',
      // Named after the certificate, so each CA keeps its identifiers whatever else is installed.
      PayloadIdentifier: `${identifierBase}.extension-signing-ca.${digest.slice(0, 16)}`,
      PayloadUUID: uuid(`ca:${digest}`),
      PayloadVersion: 1,
      PayloadDisplayName: `${input.tenant.name} desktop-extension signing CA`,
      PayloadCertificateFileName: 'extension-signing-ca.cer',
      PayloadContent: der,
    });
  }
  return build({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: identifierBase,
    PayloadUUID: uuid('profile'),
    PayloadDisplayName: `${input.tenant.name}: Claude through Gatehouse`,
    PayloadDescription: 'Points Claude Desktop (Cowork) at the organisation’s Gatehouse gateway and applies its policy.',
    PayloadOrganization: input.tenant.name,
    PayloadScope: 'System',
    PayloadContent: content,
  });
}
