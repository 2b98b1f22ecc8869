/**
 * Fetches an image a request names by URL, for an upstream that must not fetch it itself, without
 * letting the URL reach into the company network (SSRF):
 * - http and https only, no credentials in the URL;
 * - the host name is resolved once and every address it has must be public (address.ts); the
 *   connection goes to that address (the Host header and TLS name stay the host name), so a DNS
 *   answer that changes between check and connect (rebinding) changes nothing;
 * - redirects are followed a few times, each hop checked the same way;
 * - one deadline for the whole fetch, a size cap, status 200, and an image content type whose
 *   bytes really are that image (PNG, JPEG, GIF or WebP: what the upstreams take).
 */
import { lookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { sniffMediaType } from '@/lib/gateway/policy/media-type';
import { addressRange, isMetadataHostname, isPublicAddress } from './address';

export interface RemoteImageTuning {
  /** Images by URL one request may have fetched: each is a connection Gatehouse opens for the client. */
  maxImages: number;
  maxBytes: number;
  /** For the whole fetch, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  /**
   * Lets an address the policy refuses through: for tests that serve an image on loopback.
   * Set in code only (tuneRemoteImages); nothing in a request can reach it.
   */
  allowAddress?: (address: string, port: number) => boolean;
}

const defaults: RemoteImageTuning = { maxImages: 20, maxBytes: 5 * 1024 * 1024, timeoutMs: 10_000, maxRedirects: 3 };
let current: RemoteImageTuning = { ...defaults };

export function remoteImageTuning(): RemoteImageTuning {
  return current;
}

/** Overrides some knobs (tests); returns the previous values. */
export function tuneRemoteImages(changes: Partial<RemoteImageTuning>): RemoteImageTuning {
  const previous = current;
  current = { ...current, ...changes };
  return previous;
}

export function resetRemoteImageTuning(): void {
  current = { ...defaults };
}

/** The image could not or may not be fetched; the message says why, never the URL (it can hold a token). */
export class RemoteImageRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteImageRefused';
  }
}

export interface FetchedImage {
  mediaType: string;
  /** base64 */
  data: string;
}

/** The address to connect to: the literal itself, or the host name's, every one of which must be public. */
async function checkedAddress(url: URL, tuning: RemoteImageTuning): Promise<string> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const allowed = (address: string) => tuning.allowAddress?.(address, port) === true || isPublicAddress(address);
  if (isIP(hostname)) {
    if (!allowed(hostname)) throw new RemoteImageRefused(`its address is not public (${addressRange(hostname)})`);
    return hostname;
  }
  if (isMetadataHostname(hostname)) throw new RemoteImageRefused('it names a cloud metadata service');
  let addresses: { address: string }[];
  try {
    addresses = await lookup(hostname, { all: true, verbatim: true });
  } catch {
    throw new RemoteImageRefused('its host name does not resolve');
  }
  const refused = addresses.find(({ address }) => !allowed(address));
  if (refused || addresses.length === 0) throw new RemoteImageRefused(`its host name resolves to an address that is not public (${refused ? addressRange(refused.address) : 'none'})`);
  return addresses[0]!.address;
}

function get(url: URL, address: string, signal: AbortSignal): Promise<IncomingMessage> {
  const https = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const request = (https ? httpsRequest : httpRequest)(
      {
        host: address,
        port: url.port || (https ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { host: url.host, accept: 'image/png, image/jpeg, image/gif, image/webp', 'user-agent': 'Gatehouse' },
        // Certificate checked against the host name, not the address connected to.
        ...(https && !isIP(hostname) ? { servername: hostname } : {}),
        agent: false,
        signal,
      },
      resolve,
    );
    request.on('error', reject);
    request.end();
  });
}

async function readCapped(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response) {
    length += (chunk as Buffer).length;
    if (length > maxBytes) {
      response.destroy();
      throw new RemoteImageRefused(`it is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function fetchChecked(start: URL, tuning: RemoteImageTuning, signal: AbortSignal): Promise<FetchedImage> {
  let url = start;
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RemoteImageRefused('only http and https URLs are fetched');
    if (url.username || url.password) throw new RemoteImageRefused('URLs with credentials are not fetched');
    const address = await checkedAddress(url, tuning);
    const response = await get(url, address, signal);
    const status = response.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      response.resume();
      const location = response.headers.location;
      if (!location) throw new RemoteImageRefused(`it answered ${status} without a Location`);
      if (hop >= tuning.maxRedirects) throw new RemoteImageRefused(`it redirected more than ${tuning.maxRedirects} times`);
      url = new URL(location, url);
      continue;
    }
    if (status !== 200) {
      response.resume();
      throw new RemoteImageRefused(`it answered ${status}`);
    }
    const declared = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!declared.startsWith('image/')) {
      response.resume();
      throw new RemoteImageRefused(`it is not an image (${declared.slice(0, 60) || 'no content type'})`);
    }
    const length = Number(response.headers['content-length']);
    if (Number.isFinite(length) && length > tuning.maxBytes) {
      response.destroy();
      throw new RemoteImageRefused(`it is larger than ${tuning.maxBytes} bytes`);
    }
    const bytes = await readCapped(response, tuning.maxBytes);
    const mediaType = sniffMediaType(bytes);
    if (!mediaType?.startsWith('image/')) throw new RemoteImageRefused('its bytes are not a PNG, JPEG, GIF or WebP image');
    return { mediaType, data: bytes.toString('base64') };
  }
}

/** Fetches the image at `url`; rejects with RemoteImageRefused, or with the client's abort reason. */
export async function fetchRemoteImage(url: string, clientSignal: AbortSignal): Promise<FetchedImage> {
  const tuning = remoteImageTuning();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RemoteImageRefused('its URL is not valid');
  }
  const deadline = AbortSignal.timeout(tuning.timeoutMs);
  const signal = AbortSignal.any([clientSignal, deadline]);
  try {
    return await fetchChecked(parsed, tuning, signal);
  } catch (error) {
    if (clientSignal.aborted) throw clientSignal.reason;
    if (error instanceof RemoteImageRefused) throw error;
    if (deadline.aborted) throw new RemoteImageRefused(`it did not arrive within ${tuning.timeoutMs} ms`);
    throw new RemoteImageRefused('it could not be fetched');
  }
}
