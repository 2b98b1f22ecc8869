import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { cryptoEngine, webPrivateKey, webPublicKey, type SigningKey } from './keys';

/**
 * The two certificates Gatehouse issues: the organisation's root CA (self-signed, may sign only
 * certificates, no intermediates below it) and the code-signing certificate it issues (not a CA,
 * digitalSignature only). Both carry extendedKeyUsage codeSigning and nothing else: MDM installs the
 * root as trusted on every device, and a root without the extension would vouch for any purpose,
 * so its key could mint TLS server certificates the devices accept. Claude Desktop then accepts
 * bundles signed with the code-signing certificate.
 */

export const OID = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  subjectAltName: '2.5.29.17',
  authorityKeyIdentifier: '2.5.29.35',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

export type CertificateKind = 'ca' | 'code_signing';

export interface Subject {
  commonName: string;
  organizationName: string;
}

export interface IssuedCertificate {
  pem: string;
  /** Upper-case hex, as openssl and Node print it. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateRequest {
  kind: CertificateKind;
  subject: Subject;
  key: SigningKey;
  notBefore: Date;
  notAfter: Date;
  /** The CA that signs it; absent for the self-signed root. */
  issuer?: { pem: string; key: SigningKey };
  /** A CA's pathLenConstraint: intermediate CAs allowed below it. 0 (the organisation CA's) unless given. */
  pathLength?: number;
  /** extendedKeyUsage purposes (OIDs): [codeSigning] unless given; null for no extension (any purpose). */
  extendedKeyUsage?: string[] | null;
  /** basicConstraints cA; by `kind` unless given (a verifier's tests issue the malformed ones). */
  cA?: boolean;
  /** Further extensions as DER values, e.g. ones a verifier does not know. */
  extraExtensions?: { extnID: string; critical: boolean; value: asn1js.BaseBlock }[];
}

function names(subject: Subject): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      new pkijs.AttributeTypeAndValue({ type: OID.organizationName, value: new asn1js.Utf8String({ value: subject.organizationName }) }),
      new pkijs.AttributeTypeAndValue({ type: OID.commonName, value: new asn1js.Utf8String({ value: subject.commonName }) }),
    ],
  });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(key: SigningKey): Buffer {
  const spki = pkijs.PublicKeyInfo.fromBER(key.publicKey.export({ format: 'der', type: 'spki' }));
  return createHash('sha1').update(Buffer.from(spki.subjectPublicKey.valueBlock.valueHexView)).digest();
}

/** keyUsage as a DER BIT STRING: bit 0 is digitalSignature, 5 keyCertSign, 6 cRLSign. */
function keyUsageBits(bits: number[]): asn1js.BitString {
  const byte = bits.reduce((value, bit) => value | (0x80 >> bit), 0);
  const unused = Math.min(7, 7 - Math.max(...bits));
  return new asn1js.BitString({ valueHex: new Uint8Array([byte]).buffer, unusedBits: unused });
}

function extension(extnID: string, critical: boolean, value: asn1js.BaseBlock | { toSchema(): asn1js.BaseBlock }): pkijs.Extension {
  const schema = 'toSchema' in value ? value.toSchema() : value;
  return new pkijs.Extension({ extnID, critical, extnValue: schema.toBER(false) });
}

function toPem(der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

export function parseCertificate(pem: string): pkijs.Certificate {
  return pkijs.Certificate.fromBER(new X509Certificate(pem).raw);
}

/** A positive 128-bit serial (RFC 5280 allows up to 20 octets; the top bit is cleared so it stays positive). */
function serialBytes(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes;
}

export async function issueCertificate(request: CertificateRequest): Promise<IssuedCertificate> {
  const certificate = new pkijs.Certificate();
  const serial = serialBytes();
  certificate.version = 2;
  certificate.serialNumber = new asn1js.Integer({ valueHex: new Uint8Array(serial).buffer });
  certificate.subject = names(request.subject);
  const issuerCertificate = request.issuer ? parseCertificate(request.issuer.pem) : null;
  certificate.issuer = issuerCertificate ? issuerCertificate.subject : names(request.subject);
  certificate.notBefore = new pkijs.Time({ type: request.notBefore.getUTCFullYear() < 2050 ? 0 : 1, value: request.notBefore });
  certificate.notAfter = new pkijs.Time({ type: request.notAfter.getUTCFullYear() < 2050 ? 0 : 1, value: request.notAfter });
  const issuerKey = request.issuer?.key ?? request.key;
  const ca = request.kind === 'ca';
  const purposes = request.extendedKeyUsage === undefined ? [OID.codeSigning] : request.extendedKeyUsage;
  const cA = request.cA ?? ca;
  certificate.extensions = [
    extension(OID.basicConstraints, true, new pkijs.BasicConstraints(cA ? { cA: true, pathLenConstraint: request.pathLength ?? 0 } : { cA: false })),
    extension(OID.keyUsage, true, keyUsageBits(ca ? [5, 6] : [0])),
    extension(OID.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: new Uint8Array(keyIdentifier(request.key)).buffer })),
    extension(OID.authorityKeyIdentifier, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: new Uint8Array(keyIdentifier(issuerKey)).buffer }) })),
    ...(purposes ? [extension(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: purposes }))] : []),
    ...(request.extraExtensions ?? []).map((extra) => extension(extra.extnID, extra.critical, extra.value)),
  ];
  await certificate.subjectPublicKeyInfo.importKey(await webPublicKey(request.key.publicKey), cryptoEngine);
  await certificate.sign(await webPrivateKey(issuerKey.privateKey), 'SHA-256', cryptoEngine);
  const pem = toPem(certificate.toSchema(true).toBER(false));
  return { pem, serialNumber: serial.toString('hex').toUpperCase(), notBefore: request.notBefore, notAfter: request.notAfter };
}
