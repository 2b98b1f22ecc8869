/**
 * GET a URL someone else chose (an image a request names, an OAuth client's metadata document)
 * without letting it reach into the company network (SSRF):
 * - http and https only (https only when asked), no credentials in the URL;
 * - the host name is resolved once and every address it has must be public (address.ts); the
 *   connection goes to that address (the Host header and TLS name stay the host name), so a DNS
 *   answer that changes between check and connect (rebinding) changes nothing;
 * - redirects are followed a few times (or none), each hop checked the same way;
 * - one deadline for the whole fetch, a size cap, status 200 only.
 */
import { lookup } from 'node:dns/promises';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { addressRange, isMetadataHostname, isPublicAddress } from './address';

export interface PublicFetchOptions {
  maxBytes: number;
  /** For the whole fetch, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  accept: string;
  /** Refuse http: (every hop). */
  httpsOnly?: boolean;
  /**
   * Lets an address the policy refuses through: for tests that serve on loopback. Set in code
   * only; nothing in a request can reach it.
   */
  allowAddress?: (address: string, port: number) => boolean;
  /** Extra trusted certificate authorities (PEM), for tests serving https on loopback. */
  ca?: string;
  /** Looks at the 200 answer's headers before its body is read; throws OutboundFetchRefused to stop. */
  checkHeaders?: (headers: IncomingHttpHeaders) => void;
}

export interface PublicFetchResult {
  body: Buffer;
  headers: IncomingHttpHeaders;
}

/** The URL could not or may not be fetched; the message says why, never the URL (it can hold a token). */
export class OutboundFetchRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundFetchRefused';
  }
}

/** The host name does not resolve: a failure to reach it (DNS down, a typo), not a policy refusal. */
export class HostUnresolved extends OutboundFetchRefused {
  constructor() {
    super('its host name does not resolve');
    this.name = 'HostUnresolved';
  }
}

/** The address to connect to: the literal itself, or the host name's, every one of which must be public. */
async function checkedAddress(url: URL, options: PublicFetchOptions): Promise<string> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const allowed = (address: string) => options.allowAddress?.(address, port) === true || isPublicAddress(address);
  if (isIP(hostname)) {
    if (!allowed(hostname)) throw new OutboundFetchRefused(`its address is not public (${addressRange(hostname)})`);
    return hostname;
  }
  if (isMetadataHostname(hostname)) throw new OutboundFetchRefused('it names a cloud metadata service');
  let addresses: { address: string }[];
  try {
    addresses = await lookup(hostname, { all: true, verbatim: true });
  } catch {
    throw new HostUnresolved();
  }
  const refused = addresses.find(({ address }) => !allowed(address));
  if (refused || addresses.length === 0) throw new OutboundFetchRefused(`its host name resolves to an address that is not public (${refused ? addressRange(refused.address) : 'none'})`);
  return addresses[0]!.address;
}

function get(url: URL, address: string, options: PublicFetchOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const https = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const request = (https ? httpsRequest : httpRequest)(
      {
        host: address,
        port: url.port || (https ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { host: url.host, accept: options.accept, 'user-agent': 'Gatehouse' },
        // Certificate checked against the host name, not the address connected to.
        ...(https && !isIP(hostname) ? { servername: hostname } : {}),
        ...(https && options.ca ? { ca: options.ca } : {}),
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
      throw new OutboundFetchRefused(`it is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function fetchChecked(start: URL, options: PublicFetchOptions, signal: AbortSignal): Promise<PublicFetchResult> {
  let url = start;
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'https:' && (options.httpsOnly || url.protocol !== 'http:')) throw new OutboundFetchRefused(options.httpsOnly ? 'only https URLs are fetched' : 'only http and https URLs are fetched');
    if (url.username || url.password) throw new OutboundFetchRefused('URLs with credentials are not fetched');
    const address = await checkedAddress(url, options);
    const response = await get(url, address, options, signal);
    const status = response.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      response.resume();
      const location = response.headers.location;
      if (!location) throw new OutboundFetchRefused(`it answered ${status} without a Location`);
      if (hop >= options.maxRedirects) throw new OutboundFetchRefused(options.maxRedirects === 0 ? `it answered ${status} (redirects are not followed)` : `it redirected more than ${options.maxRedirects} times`);
      url = new URL(location, url);
      continue;
    }
    if (status !== 200) {
      response.resume();
      throw new OutboundFetchRefused(`it answered ${status}`);
    }
    try {
      options.checkHeaders?.(response.headers);
    } catch (error) {
      response.resume();
      throw error;
    }
    const length = Number(response.headers['content-length']);
    if (Number.isFinite(length) && length > options.maxBytes) {
      response.destroy();
      throw new OutboundFetchRefused(`it is larger than ${options.maxBytes} bytes`);
    }
    return { body: await readCapped(response, options.maxBytes), headers: response.headers };
  }
}

/** Fetches `url` under `options`; rejects with OutboundFetchRefused, or with the caller's abort reason. */
export async function fetchPublicUrl(url: string, options: PublicFetchOptions, callerSignal?: AbortSignal): Promise<PublicFetchResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboundFetchRefused('its URL is not valid');
  }
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline;
  try {
    return await fetchChecked(parsed, options, signal);
  } catch (error) {
    if (callerSignal?.aborted) throw callerSignal.reason;
    if (error instanceof OutboundFetchRefused) throw error;
    if (deadline.aborted) throw new OutboundFetchRefused(`it did not arrive within ${options.timeoutMs} ms`);
    throw new OutboundFetchRefused('it could not be fetched');
  }
}
