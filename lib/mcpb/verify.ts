import { createHash, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID } from './certificates';
import { CMS_OID, parseSignature, signedClaims, verifySignerSignature, type ParsedSignature } from './cms';
import { extractSignatureBlock } from './framing';

/**
 * Verifies a signed MCP Bundle without trusting anything it says about itself: the signature block
 * is extracted by the MCPB rule, the CMS signature is checked over the zip bytes before it, and the
 * signer's certificate must chain (through certificates the signature carries) to one of the given
 * trusted CAs, be within its validity at the time of checking (as every link must be) and carry the
 * codeSigning extended key usage, and no intermediate CA may have an extended key usage without it.
 * No certificate below the trusted CA may carry a critical extension this verifier does not apply
 * (RFC 5280 §4.2), and the signer may not be a CA. anyExtendedKeyUsage does not make a signer a
 * code signer: Gatehouse's policy is that a signer names codeSigning itself (an intermediate may
 * still say anyExtendedKeyUsage, as Windows and macOS allow). Each way of failing has its own reason.
 */

export const VERIFICATION_FAILURES = [
  'unsigned',
  'malformed_signature_block',
  'malformed_signature',
  'unsupported_algorithm',
  'content_modified',
  'signer_certificate_missing',
  'signature_invalid',
  'untrusted_chain',
  'certificate_not_yet_valid',
  'certificate_expired',
  'not_code_signing',
  'unrecognised_critical_extension',
] as const;
export type VerificationFailure = (typeof VERIFICATION_FAILURES)[number];

export interface CertificateSummary {
  subject: string;
  serialNumber: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
}

export type BundleVerification =
  | { ok: true; content: Buffer; signer: CertificateSummary; chain: CertificateSummary[]; signingTime: Date | null }
  | { ok: false; reason: VerificationFailure; message: string };

export interface VerifyOptions {
  /** PEM certificates of the CAs to trust (the organisation CA, or any given trust set). */
  trustedCaPems: readonly string[];
  /** When validity is judged; now by default. */
  at?: Date;
}

const MAX_CHAIN = 5;

function fail(reason: VerificationFailure, message: string): BundleVerification {
  return { ok: false, reason, message };
}

function summary(certificate: X509Certificate): CertificateSummary {
  return {
    subject: certificate.subject.replace(/\n/g, ', '),
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
  };
}

function derOf(certificate: pkijs.Certificate): Buffer {
  return Buffer.from(certificate.toSchema(true).toBER(false));
}

function nodeCertificate(certificate: pkijs.Certificate): X509Certificate {
  return new X509Certificate(derOf(certificate));
}

/** The certificate the signer identifies (issuer and serial, or [0] subject key identifier) among those carried. */
function signerCertificate(parsed: ParsedSignature): pkijs.Certificate | undefined {
  const sid = parsed.signerInfo.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return parsed.certificates.find((certificate) => certificate.issuer.isEqual(sid.issuer) && certificate.serialNumber.isEqual(sid.serialNumber));
  }
  if (!(sid instanceof asn1js.Primitive)) return undefined;
  const keyId = Buffer.from(sid.valueBlock.valueHexView);
  return parsed.certificates.find((certificate) => {
    const extension = certificate.extensions?.find((entry) => entry.extnID === OID.subjectKeyIdentifier);
    return extension?.parsedValue instanceof asn1js.OctetString && Buffer.from(extension.parsedValue.valueBlock.valueHexView).equals(keyId);
  });
}

/** basicConstraints pathLenConstraint: how many intermediate CAs may stand below this CA (undefined: any number). */
function pathLengthLimit(certificate: X509Certificate): number | undefined {
  const extension = pkijs.Certificate.fromBER(certificate.raw).extensions?.find((entry) => entry.extnID === OID.basicConstraints);
  const limit = extension?.parsedValue instanceof pkijs.BasicConstraints ? extension.parsedValue.pathLenConstraint : undefined;
  return limit === undefined || typeof limit === 'number' ? limit : limit.valueBlock.valueDec;
}

/**
 * The signer's certificate up to a trusted CA, or null when no path reaches one. A CA issues the
 * last certificate of `path` only if the intermediates already in it (all but the signer) are
 * within its path length (RFC 5280 §4.2.1.9), so a root that may sign only end entities, as the
 * organisation CA, cannot be extended by an intermediate.
 */
function chainToTrust(signer: X509Certificate, carried: X509Certificate[], anchors: X509Certificate[]): X509Certificate[] | null {
  const path = [signer];
  let current = signer;
  const issues = (candidate: X509Certificate) => {
    const limit = pathLengthLimit(candidate);
    return (limit === undefined || path.length - 1 <= limit) && current.checkIssued(candidate) && current.verify(candidate.publicKey);
  };
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const anchor = anchors.find(issues);
    if (anchor) return [...path, anchor];
    const next = carried.find((candidate) => candidate.ca && !path.includes(candidate) && issues(candidate));
    if (!next) return null;
    path.push(next);
    current = next;
  }
  return null;
}

/**
 * Whether a CA may stand in a code-signing chain by its extendedKeyUsage: without the extension it
 * is not restricted; with it, it must name codeSigning or anyExtendedKeyUsage. A CA restricted to,
 * say, TLS server certificates does not vouch for code (what Windows and macOS apply to
 * intermediates); an extension that does not parse restricts it to nothing.
 */
function caPermitsCodeSigning(certificate: X509Certificate): boolean {
  const extension = pkijs.Certificate.fromBER(certificate.raw).extensions?.find((entry) => entry.extnID === OID.extKeyUsage);
  if (!extension) return true;
  const purposes = extension.parsedValue instanceof pkijs.ExtKeyUsage ? extension.parsedValue.keyPurposes : [];
  return purposes.includes(OID.codeSigning) || purposes.includes(OID.anyExtendedKeyUsage);
}

/** The extensions this verifier applies (or that only name things, as subjectAltName); a critical one of any other kind refuses the certificate. */
const UNDERSTOOD_EXTENSIONS: ReadonlySet<string> = new Set([OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectKeyIdentifier, OID.authorityKeyIdentifier, OID.subjectAltName]);

function unrecognisedCriticalExtension(certificate: X509Certificate): string | undefined {
  return pkijs.Certificate.fromBER(certificate.raw).extensions?.find((entry) => entry.critical && !UNDERSTOOD_EXTENSIONS.has(entry.extnID))?.extnID;
}

/** basicConstraints cA itself: Node's X509Certificate.ca (OpenSSL's X509_check_ca) also wants keyCertSign, which a CA posing as a signer leaves out. */
function isBasicConstraintsCa(certificate: pkijs.Certificate): boolean {
  const extension = certificate.extensions?.find((entry) => entry.extnID === OID.basicConstraints);
  return extension?.parsedValue instanceof pkijs.BasicConstraints && extension.parsedValue.cA === true;
}

function hasDigitalSignatureUsage(certificate: pkijs.Certificate): boolean {
  const extension = certificate.extensions?.find((entry) => entry.extnID === OID.keyUsage);
  if (!extension) return true;
  const bits = extension.parsedValue instanceof asn1js.BitString ? extension.parsedValue.valueBlock.valueHexView : new Uint8Array();
  return bits.length > 0 && (bits[0]! & 0x80) !== 0;
}

export async function verifyBundle(file: Buffer, options: VerifyOptions): Promise<BundleVerification> {
  const extracted = extractSignatureBlock(file);
  if (extracted.kind === 'unsigned') return fail('unsigned', 'the bundle has no MCPB signature block');
  if (extracted.kind === 'malformed') return fail('malformed_signature_block', extracted.message);
  const parsed = parseSignature(extracted.signature);
  if (typeof parsed === 'string') return fail('malformed_signature', parsed);

  const { signerInfo } = parsed;
  if (signerInfo.digestAlgorithm.algorithmId !== CMS_OID.sha256) return fail('unsupported_algorithm', `the signature's digest is ${signerInfo.digestAlgorithm.algorithmId}, not SHA-256`);
  const claims = signedClaims(signerInfo);
  if (!claims.digest || !claims.contentTypeIsData) return fail('malformed_signature', 'the signature lacks the signed contentType (data) and messageDigest attributes');
  const digest = createHash('sha256').update(extracted.content).digest();
  if (!digest.equals(claims.digest)) return fail('content_modified', 'the zip is not the one that was signed (its SHA-256 differs from the signed digest)');

  const signer = signerCertificate(parsed);
  if (!signer) return fail('signer_certificate_missing', 'the signature does not carry the certificate of its signer');
  const verifiedWith = await verifySignerSignature(parsed, extracted.content);
  if (!verifiedWith || !derOf(verifiedWith).equals(derOf(signer))) return fail('signature_invalid', "the signature does not verify with the signer's certificate");

  const leaf = nodeCertificate(signer);
  const anchors = options.trustedCaPems.map((pem) => new X509Certificate(pem));
  const chain = chainToTrust(
    leaf,
    parsed.certificates.map(nodeCertificate),
    anchors.filter((anchor) => anchor.ca),
  );
  if (!chain) return fail('untrusted_chain', `the signer (${summary(leaf).subject}) does not chain to a trusted CA`);

  const at = options.at ?? new Date();
  for (const certificate of chain) {
    const { subject, notBefore, notAfter } = summary(certificate);
    if (at < notBefore) return fail('certificate_not_yet_valid', `${subject} is valid only from ${notBefore.toISOString()}`);
    if (at > notAfter) return fail('certificate_expired', `${subject} expired at ${notAfter.toISOString()}`);
  }
  // The trusted CA is taken as given; what it vouches for must be understood in full.
  for (const certificate of chain.slice(0, -1)) {
    const oid = unrecognisedCriticalExtension(certificate);
    if (oid) return fail('unrecognised_critical_extension', `${summary(certificate).subject} carries a critical extension this verifier does not apply (${oid})`);
  }
  if (isBasicConstraintsCa(signer)) return fail('not_code_signing', `the signer (${summary(leaf).subject}) is a CA certificate (basicConstraints cA), not a code-signing certificate`);
  // Only codeSigning itself: anyExtendedKeyUsage alone is not enough for a signer (see the header).
  if (!(leaf.keyUsage ?? []).includes(OID.codeSigning) || !hasDigitalSignatureUsage(signer)) {
    return fail('not_code_signing', `the signer (${summary(leaf).subject}) is not a code-signing certificate (extended key usage codeSigning)`);
  }
  // The intermediates between the signer and the trusted CA (the anchor is trusted as given).
  const restricted = chain.slice(1, -1).find((certificate) => !caPermitsCodeSigning(certificate));
  if (restricted) return fail('not_code_signing', `the intermediate CA ${summary(restricted).subject} may not issue code-signing certificates (its extended key usage names neither codeSigning nor anyExtendedKeyUsage)`);
  return { ok: true, content: extracted.content, signer: summary(leaf), chain: chain.slice(1).map(summary), signingTime: claims.signingTime };
}
