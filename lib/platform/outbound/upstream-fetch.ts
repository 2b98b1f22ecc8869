/**
 * Requests to upstreams an administrator registered (MCP servers), SSRF-checked on every
 * connection: the host name is resolved inside the connection's own lookup and every address it
 * has must pass isUpstreamAddressAllowed, so the check and the connect see the same answer (a DNS
 * rebinding in between changes nothing). A fetch-shaped function, so unmodified clients (the MCP
 * SDK's transports) use it as their `fetch`; redirects are not followed here (the caller sees the
 * 3xx and each hop it follows comes through this check again).
 */
import { lookup as dnsLookup } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { addressRange, isMetadataHostname, isUpstreamAddressAllowed } from './address';
import { HostUnresolved, OutboundFetchRefused } from './fetch-public';

export interface UpstreamPolicy {
  /** Private, loopback, unique-local and CGNAT addresses allowed (never metadata or link-local). */
  allowPrivateNetwork: boolean;
  /** Extra trusted certificate authorities (PEM), for tests serving https on loopback. */
  ca?: string;
}

export type UpstreamFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

function refusedAddress(address: string, allowPrivateNetwork: boolean): string {
  const range = addressRange(address);
  return allowPrivateNetwork ? `its address is not allowed for an upstream (${range}; metadata and link-local addresses never are)` : `its address is not public (${range}; allow the private network for this server to reach it)`;
}

/** The parts of a URL every upstream request must have before any lookup: http(s), no credentials, no metadata host. */
function checkedUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboundFetchRefused('its URL is not valid');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new OutboundFetchRefused('only http and https URLs are allowed');
  if (parsed.username || parsed.password) throw new OutboundFetchRefused('URLs with credentials are not allowed (use the upstream secret)');
  if (isMetadataHostname(parsed.hostname)) throw new OutboundFetchRefused('it names a cloud metadata service');
  return parsed;
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Resolves the URL's host and checks every address under the policy, as registration does before
 * storing a URL; rejects with OutboundFetchRefused saying why (never echoing the URL).
 */
export async function checkUpstreamUrl(url: string, policy: UpstreamPolicy): Promise<URL> {
  const parsed = checkedUrl(url);
  const host = bareHost(parsed);
  if (isIP(host)) {
    if (!isUpstreamAddressAllowed(host, policy.allowPrivateNetwork)) throw new OutboundFetchRefused(refusedAddress(host, policy.allowPrivateNetwork));
    return parsed;
  }
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    throw new HostUnresolved();
  }
  if (addresses.length === 0) throw new HostUnresolved();
  const refused = addresses.find(({ address }) => !isUpstreamAddressAllowed(address, policy.allowPrivateNetwork));
  if (refused) throw new OutboundFetchRefused(`its host name resolves to an address that is not allowed: ${refusedAddress(refused.address, policy.allowPrivateNetwork)}`);
  return parsed;
}

/** The connection's lookup: every address the name has must be allowed, else the connect fails. */
function checkingLookup(allowPrivateNetwork: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, verbatim: true, ...(options.family ? { family: options.family } : {}) }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.find(({ address }) => !isUpstreamAddressAllowed(address, allowPrivateNetwork));
      if (refused || addresses.length === 0) return callback(new OutboundFetchRefused(refused ? refusedAddress(refused.address, allowPrivateNetwork) : 'its host name does not resolve'), '', 0);
      if (options.all) return (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

// Sockets are pooled per policy: a connection opened for an upstream allowed the private network
// is never reused for one that is not.
const AGENTS = {
  private: { http: new HttpAgent({ keepAlive: true, lookup: checkingLookup(true) }), https: new HttpsAgent({ keepAlive: true, lookup: checkingLookup(true) }) },
  public: { http: new HttpAgent({ keepAlive: true, lookup: checkingLookup(false) }), https: new HttpsAgent({ keepAlive: true, lookup: checkingLookup(false) }) },
};

function bodyBytes(body: RequestInit['body']): Buffer | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  throw new TypeError('upstream requests take a string or byte body');
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function toResponse(message: IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (let index = 0; index + 1 < message.rawHeaders.length; index += 2) headers.append(message.rawHeaders[index]!, message.rawHeaders[index + 1]!);
  const status = message.statusCode ?? 502;
  const empty = NULL_BODY_STATUSES.has(status) || method === 'HEAD';
  if (empty) message.resume();
  return new Response(empty ? null : (Readable.toWeb(message) as ReadableStream<Uint8Array>), { status, statusText: message.statusMessage ?? '', headers });
}

/** A fetch for one upstream's policy. Rejects with OutboundFetchRefused when the target is not allowed. */
export function upstreamFetch(policy: UpstreamPolicy): UpstreamFetch {
  const agents = policy.allowPrivateNetwork ? AGENTS.private : AGENTS.public;
  return async (url, init = {}) => {
    const target = checkedUrl(url);
    const host = bareHost(target);
    if (isIP(host) && !isUpstreamAddressAllowed(host, policy.allowPrivateNetwork)) throw new OutboundFetchRefused(refusedAddress(host, policy.allowPrivateNetwork));
    const https = target.protocol === 'https:';
    const method = (init.method ?? 'GET').toUpperCase();
    const body = bodyBytes(init.body);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    if (body && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    init.signal?.throwIfAborted();
    return new Promise<Response>((resolve, reject) => {
      const request = (https ? httpsRequest : httpRequest)(
        {
          host,
          port: target.port || (https ? 443 : 80),
          path: `${target.pathname}${target.search}`,
          method,
          headers,
          // A custom CA needs its own connection; the pooled agents trust the system's.
          ...(https && policy.ca ? { ca: policy.ca, agent: false, lookup: checkingLookup(policy.allowPrivateNetwork) } : { agent: https ? agents.https : agents.http }),
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (message) => resolve(toResponse(message, method)),
      );
      request.on('error', (error) => reject(init.signal?.aborted ? init.signal.reason : error));
      request.end(body ?? undefined);
    });
  };
}
