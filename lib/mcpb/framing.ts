/**
 * The MCPB signature block, as `mcpb sign` writes it: the zip, then `MCPB_SIG_V1`, a uint32
 * little-endian length N, N bytes of DER CMS SignedData (detached, over the zip bytes), then
 * `MCPB_SIG_END`. Readers find the last end marker, search backwards from it for the header, and
 * take everything before the header as the signed content. Unzip still reads a signed file: the
 * block is trailing data after the archive.
 */

export const SIGNATURE_HEADER = Buffer.from('MCPB_SIG_V1', 'ascii');
export const SIGNATURE_FOOTER = Buffer.from('MCPB_SIG_END', 'ascii');
const LENGTH_BYTES = 4;

/** A signed bundle cut at its header: the zip that was signed and the CMS signature (DER). */
export interface SignatureBlock {
  content: Buffer;
  signature: Buffer;
}

export type ExtractedSignature = { kind: 'unsigned' } | { kind: 'malformed'; message: string } | ({ kind: 'signed' } & SignatureBlock);

export function appendSignatureBlock(zip: Buffer, signature: Buffer): Buffer {
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32LE(signature.length, 0);
  return Buffer.concat([zip, SIGNATURE_HEADER, length, signature, SIGNATURE_FOOTER]);
}

/** Whether the file ends the way a signed bundle ends (what signing refuses to sign twice). */
export function endsWithSignatureBlock(file: Buffer): boolean {
  return file.length >= SIGNATURE_FOOTER.length && file.subarray(file.length - SIGNATURE_FOOTER.length).equals(SIGNATURE_FOOTER);
}

/**
 * The contract's extraction rule, read strictly: the block must end the file and its length field
 * must account for every byte between header and footer. Anything looser would let bytes nobody
 * signed ride along after a valid signature.
 */
export function extractSignatureBlock(file: Buffer): ExtractedSignature {
  const footerAt = file.lastIndexOf(SIGNATURE_FOOTER);
  if (footerAt === -1) return { kind: 'unsigned' };
  const headerAt = file.subarray(0, footerAt).lastIndexOf(SIGNATURE_HEADER);
  if (headerAt === -1) return { kind: 'malformed', message: `${SIGNATURE_FOOTER} without a ${SIGNATURE_HEADER} before it` };
  if (footerAt + SIGNATURE_FOOTER.length !== file.length) return { kind: 'malformed', message: `${file.length - footerAt - SIGNATURE_FOOTER.length} bytes follow ${SIGNATURE_FOOTER}` };
  const lengthAt = headerAt + SIGNATURE_HEADER.length;
  if (lengthAt + LENGTH_BYTES > footerAt) return { kind: 'malformed', message: 'the signature block is too short to hold its length' };
  const declared = file.readUInt32LE(lengthAt);
  const actual = footerAt - lengthAt - LENGTH_BYTES;
  if (declared !== actual) return { kind: 'malformed', message: `the signature block declares ${declared} bytes of signature but holds ${actual}` };
  if (declared === 0) return { kind: 'malformed', message: 'the signature block is empty' };
  return { kind: 'signed', content: file.subarray(0, headerAt), signature: file.subarray(lengthAt + LENGTH_BYTES, footerAt) };
}
