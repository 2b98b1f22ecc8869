/**
 * AWS Signature Version 4 checked the way AWS checks it, written from the specification with
 * node:crypto (not with the signing library the gateway uses, so a bug there cannot hide itself):
 * canonical request, string to sign, derived key, signature; plus the date, scope and payload.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { RecordedRequest } from './server';

export interface AwsTestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
  service: string;
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding, as SigV4 wants every byte but unreserved ones escaped. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Every service but S3 encodes each path segment once more, on top of the encoding it was sent with. */
function canonicalUri(path: string): string {
  return path
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

function canonicalQuery(url: string): string {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  return [...new URLSearchParams(query)]
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Null when the request carries a valid signature by these credentials; otherwise why not. */
export function sigV4Problem(request: RecordedRequest, credentials: AwsTestCredentials): string | null {
  const authorization = request.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return 'missing or malformed Authorization header';
  const [, accessKeyId, day, region, service, signedHeaderList, signature] = match as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) return 'unknown access key';
  if (region !== credentials.region || service !== credentials.service) return `credential scope ${region}/${service} is not ${credentials.region}/${credentials.service}`;
  const amzDate = request.headers['x-amz-date'] ?? '';
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(day!)) return 'x-amz-date missing or not the scope date';
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - signedAt) > 5 * 60_000) return 'signature expired';
  const signedHeaders = signedHeaderList!.split(';');
  for (const required of ['host', 'x-amz-date', ...(credentials.sessionToken ? ['x-amz-security-token'] : [])]) {
    if (!signedHeaders.includes(required)) return `${required} is not signed`;
  }
  if (credentials.sessionToken && request.headers['x-amz-security-token'] !== credentials.sessionToken) return 'wrong session token';
  const payloadHash = sha256(request.rawBody);
  const declared = request.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== payloadHash && declared !== 'UNSIGNED-PAYLOAD') return 'x-amz-content-sha256 does not match the body';
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [request.method, canonicalUri(request.path), canonicalQuery(request.url), canonicalHeaders, signedHeaderList, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(signature!, 'hex')) ? null : 'The request signature we calculated does not match the signature you provided.';
}
