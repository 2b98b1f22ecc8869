import { randomUUID } from 'node:crypto';
import { openSealedSecret, sealSecret, UnsealError } from '@/lib/platform/seal';
import { installationSecret } from '@/lib/tokens/secret';
import { primaryTenant } from '@/lib/users/tenant';
import { issueCertificate, type CertificateKind } from './certificates';
import type { CmsSigner } from './cms';
import { generateSigningKey, privateKeyPem, signingKeyFromPem, type SigningKey } from './keys';
import { activeCertificate, certificatesOfKind, replaceActive, type CertificateRow, type NewCertificate } from './repository';

/**
 * The organisation's MCPB signing authority: a self-signed root CA (ten years) and a code-signing
 * certificate it issues (one year), both created on first use with private keys sealed under
 * GATEHOUSE_SECRET. The code-signing certificate renews itself when it has less than 30 days left
 * (devices keep trusting the same root, so nothing changes for them); renewing the CA itself means
 * re-issuing the MDM profile, and bundles signed under the old root stop verifying.
 */

const PURPOSE = 'mcpb-signing-keys';
const DAY_MS = 86_400_000;
const CA_LIFETIME_DAYS = 3650;
const CODE_SIGNING_LIFETIME_DAYS = 365;
const RENEW_WITHIN_DAYS = 30;
// Devices with a clock a little behind must still accept a certificate issued just now.
const BACKDATE_MS = 5 * 60_000;

export class SigningKeyUnavailableError extends Error {
  override name = 'SigningKeyUnavailableError';
}

async function openKey(row: CertificateRow): Promise<SigningKey> {
  try {
    return signingKeyFromPem(openSealedSecret(row.sealedPrivateKey, await installationSecret(), PURPOSE, row.id));
  } catch (error) {
    if (!(error instanceof UnsealError)) throw error;
    throw new SigningKeyUnavailableError(`the ${row.kind === 'ca' ? 'organisation CA' : 'code-signing'} key cannot be opened with this GATEHOUSE_SECRET (was the secret changed?); restore the secret, or run \`gatehouse mcp bundle renew --ca\` and roll out the new CA`);
  }
}

async function newCertificate(kind: CertificateKind, issuer?: CertificateRow): Promise<NewCertificate> {
  const id = randomUUID();
  const key = generateSigningKey();
  const organizationName = (await primaryTenant()).name;
  const now = Date.now();
  const lifetime = (kind === 'ca' ? CA_LIFETIME_DAYS : CODE_SIGNING_LIFETIME_DAYS) * DAY_MS;
  const notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.min(now + lifetime, issuer ? issuer.notAfter.getTime() : Infinity));
  const issued = await issueCertificate({
    kind,
    subject: { organizationName, commonName: kind === 'ca' ? `${organizationName} desktop-extension CA` : `${organizationName} desktop-extension signing` },
    key,
    notBefore,
    notAfter: new Date(Math.floor(notAfter.getTime() / 1000) * 1000),
    issuer: issuer ? { pem: issuer.certificatePem, key: await openKey(issuer) } : undefined,
  });
  return {
    id,
    kind,
    serialNumber: issued.serialNumber,
    certificatePem: issued.pem,
    sealedPrivateKey: sealSecret(privateKeyPem(key), await installationSecret(), PURPOSE, id),
    issuerId: issuer?.id ?? null,
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
  };
}

/**
 * Whether the code-signing certificate should be replaced: issued by another CA, or near its end
 * while a new one would outlive it. A certificate already ending with its CA cannot be bettered
 * (a new one is capped at the CA's end), so in the CA's last 30 days it is kept, not re-issued
 * with a fresh key on every signing.
 */
function needsRenewal(certificate: CertificateRow, ca: CertificateRow, at: Date): boolean {
  if (certificate.issuerId !== ca.id) return true;
  return certificate.notAfter.getTime() - at.getTime() < RENEW_WITHIN_DAYS * DAY_MS && certificate.notAfter.getTime() < ca.notAfter.getTime();
}

/** The organisation CA, created on first use. */
export async function organisationCa(): Promise<CertificateRow> {
  return (await activeCertificate('ca')) ?? replaceActive(await newCertificate('ca'), (current) => current === null);
}

/** The PEM devices install as a trusted root (the MDM profile's payload, the admins' download). */
export async function organisationCaPem(): Promise<string> {
  return (await organisationCa()).certificatePem;
}

/** The active code-signing certificate, issued (or renewed) when needed, with its key and chain. */
export async function organisationSigner(at = new Date()): Promise<CmsSigner & { serialNumber: string }> {
  const ca = await organisationCa();
  let leaf = await activeCertificate('code_signing');
  if (!leaf || needsRenewal(leaf, ca, at)) {
    leaf = await replaceActive(await newCertificate('code_signing', ca), (current) => !current || needsRenewal(current, ca, at));
  }
  return { certificatePem: leaf.certificatePem, key: await openKey(leaf), chainPems: [ca.certificatePem], serialNumber: leaf.serialNumber };
}

export interface CertificateSummary {
  kind: CertificateKind;
  serialNumber: string;
  status: 'active' | 'retired';
  notBefore: Date;
  notAfter: Date;
}

/**
 * Issues a new code-signing certificate now (and, with `ca`, a new root first). Returns what is
 * active afterwards.
 */
export async function renewSigningCertificates(options: { ca?: boolean } = {}): Promise<CertificateSummary[]> {
  const ca = options.ca ? await replaceActive(await newCertificate('ca'), () => true) : await organisationCa();
  const leaf = await replaceActive(await newCertificate('code_signing', ca), () => true);
  return [ca, leaf].map(summaryOf);
}

function summaryOf(row: CertificateRow): CertificateSummary {
  return { kind: row.kind, serialNumber: row.serialNumber, status: row.status, notBefore: row.notBefore, notAfter: row.notAfter };
}

/** Every certificate ever issued, CA first, newest first within each kind. */
export async function listSigningCertificates(): Promise<CertificateSummary[]> {
  return [...(await certificatesOfKind('ca')), ...(await certificatesOfKind('code_signing'))].map(summaryOf);
}
