/**
 * What binary content really is, by its first bytes: the image types the upstreams take, and PDF.
 * Used where a declared media type decides something (whether a base64 string is binary, what
 * a fetched image is), so the declaration alone is never trusted.
 */
const SIGNATURES: { mediaType: string; matches: (bytes: Uint8Array) => boolean }[] = [
  { mediaType: 'image/png', matches: (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, index) => b[index] === byte) },
  { mediaType: 'image/jpeg', matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mediaType: 'image/gif', matches: (b) => ['GIF87a', 'GIF89a'].includes(Buffer.from(b.subarray(0, 6)).toString('latin1')) },
  { mediaType: 'image/webp', matches: (b) => Buffer.from(b.subarray(0, 4)).toString('latin1') === 'RIFF' && Buffer.from(b.subarray(8, 12)).toString('latin1') === 'WEBP' },
  { mediaType: 'application/pdf', matches: (b) => Buffer.from(b.subarray(0, 5)).toString('latin1') === '%PDF-' },
];

/** The media type the bytes start like, or null. */
export function sniffMediaType(bytes: Uint8Array): string | null {
  return SIGNATURES.find((signature) => signature.matches(bytes))?.mediaType ?? null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether `data` is base64 whose bytes start like `mediaType` (one of the types above). */
export function isBase64Of(mediaType: string, data: string): boolean {
  if (data.length < 16 || data.length % 4 !== 0 || !BASE64.test(data)) return false;
  return sniffMediaType(Buffer.from(data.slice(0, 16), 'base64')) === mediaType;
}
