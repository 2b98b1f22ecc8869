import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseCertificate } from './certificates';
import { cryptoEngine, webPrivateKey, type SigningKey } from './keys';

/**
 * Detached CMS SignedData over a bundle's zip bytes, as MCPB expects: SHA-256, RSA PKCS#1 v1.5,
 * signed attributes contentType = data, signingTime and messageDigest = SHA-256(zip), and the
 * certificates from the signer up to the root (signer first). No eContent: the zip is the content.
 */

export const CMS_OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

function arrayBuffer(bytes: Buffer): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

/**
 * Signed attributes in DER order (a SET OF sorts by encoding): verifiers such as OpenSSL re-encode
 * the set before checking the signature, so an unsorted set would fail there.
 */
function sortedAttributes(attributes: pkijs.Attribute[]): pkijs.Attribute[] {
  return attributes
    .map((attribute) => ({ attribute, der: Buffer.from(attribute.toSchema().toBER(false)) }))
    .sort((a, b) => Buffer.compare(a.der, b.der))
    .map((entry) => entry.attribute);
}

export interface CmsSigner {
  certificatePem: string;
  key: SigningKey;
  /** Issuers of the signer, nearest first, up to and including the root. */
  chainPems: string[];
}

export async function signDetached(content: Buffer, signer: CmsSigner, signingTime = new Date()): Promise<Buffer> {
  const certificate = parseCertificate(signer.certificatePem);
  const digest = createHash('sha256').update(content).digest();
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: CMS_OID.data }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: certificate.issuer, serialNumber: certificate.serialNumber }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({
          type: 0,
          attributes: sortedAttributes([
            new pkijs.Attribute({ type: CMS_OID.contentType, values: [new asn1js.ObjectIdentifier({ value: CMS_OID.data })] }),
            new pkijs.Attribute({ type: CMS_OID.signingTime, values: [new asn1js.UTCTime({ valueDate: signingTime })] }),
            new pkijs.Attribute({ type: CMS_OID.messageDigest, values: [new asn1js.OctetString({ valueHex: arrayBuffer(digest) })] }),
          ]),
        }),
      }),
    ],
    certificates: [certificate, ...signer.chainPems.map(parseCertificate)],
  });
  await signedData.sign(await webPrivateKey(signer.key.privateKey), 0, 'SHA-256', arrayBuffer(content), cryptoEngine);
  const contentInfo = new pkijs.ContentInfo({ contentType: CMS_OID.signedData, content: signedData.toSchema(true) });
  return Buffer.from(contentInfo.toSchema().toBER(false));
}

/** A parsed signature: the one signer's data, before anything about it is trusted. */
export interface ParsedSignature {
  signedData: pkijs.SignedData;
  signerInfo: pkijs.SignerInfo;
  certificates: pkijs.Certificate[];
}

/** Parses DER ContentInfo → SignedData; a string says what is wrong with its shape. */
export function parseSignature(der: Buffer): ParsedSignature | string {
  const asn = asn1js.fromBER(arrayBuffer(der));
  if (asn.offset === -1) return 'the signature is not DER';
  if (asn.offset !== der.length) return `${der.length - asn.offset} bytes follow the signature's DER`;
  let signedData: pkijs.SignedData;
  try {
    const contentInfo = new pkijs.ContentInfo({ schema: asn.result });
    if (contentInfo.contentType !== CMS_OID.signedData) return `the signature is CMS ${contentInfo.contentType}, not SignedData`;
    signedData = new pkijs.SignedData({ schema: contentInfo.content });
  } catch (error) {
    return `the signature is not CMS SignedData (${(error as Error).message})`;
  }
  if (signedData.signerInfos.length !== 1) return `the signature has ${signedData.signerInfos.length} signers, not one`;
  if (signedData.encapContentInfo.eContent) return 'the signature carries its own content instead of being detached over the zip';
  if (signedData.encapContentInfo.eContentType !== CMS_OID.data) return `the signed content type is ${signedData.encapContentInfo.eContentType}, not data`;
  const certificates = (signedData.certificates ?? []).filter((entry): entry is pkijs.Certificate => entry instanceof pkijs.Certificate);
  return { signedData, signerInfo: signedData.signerInfos[0]!, certificates };
}

function attributeValue(signerInfo: pkijs.SignerInfo, type: string): asn1js.BaseBlock | undefined {
  const matching = signerInfo.signedAttrs?.attributes.filter((attribute) => attribute.type === type) ?? [];
  return matching.length === 1 && matching[0]!.values.length === 1 ? matching[0]!.values[0] : undefined;
}

/** The signer's claims about the content: the digest it signed and when it says it signed. */
export function signedClaims(signerInfo: pkijs.SignerInfo): { digest: Buffer | null; contentTypeIsData: boolean; signingTime: Date | null } {
  const digest = attributeValue(signerInfo, CMS_OID.messageDigest);
  const contentType = attributeValue(signerInfo, CMS_OID.contentType);
  const time = attributeValue(signerInfo, CMS_OID.signingTime);
  return {
    digest: digest instanceof asn1js.OctetString ? Buffer.from(digest.valueBlock.valueHexView) : null,
    contentTypeIsData: contentType instanceof asn1js.ObjectIdentifier && contentType.valueBlock.toString() === CMS_OID.data,
    signingTime: time instanceof asn1js.UTCTime || time instanceof asn1js.GeneralizedTime ? time.toDate() : null,
  };
}

/**
 * Checks the signer's signature over its signed attributes with the certificate the signer
 * names; returns that certificate, or null when no certificate matches or the signature fails.
 */
export async function verifySignerSignature(parsed: ParsedSignature, content: Buffer): Promise<pkijs.Certificate | null> {
  try {
    const result = await parsed.signedData.verify({ signer: 0, data: arrayBuffer(content), checkChain: false, extendedMode: true }, cryptoEngine);
    return result.signatureVerified ? (result.signerCertificate ?? null) : null;
  } catch {
    return null;
  }
}
