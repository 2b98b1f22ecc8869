import type { HeaderReader } from './data-plane-request';
import { BlockList, isIP } from 'node:net';

/**
 * Proxies whose X-Forwarded-For entries we believe. `loopback` (the default) covers a reverse
 * proxy on the same host; list others as addresses or CIDR ranges in GATEHOUSE_TRUSTED_PROXIES
 * (comma-separated; `none` trusts nobody, so only the socket peer counts).
 */
function trustedProxies(setting = process.env.GATEHOUSE_TRUSTED_PROXIES ?? 'loopback'): BlockList {
  const list = new BlockList();
  for (const entry of setting.split(',').map((part) => part.trim()).filter(Boolean)) {
    if (entry === 'none') continue;
    if (entry === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(address)) throw new Error(`GATEHOUSE_TRUSTED_PROXIES: "${entry}" is not an address or CIDR range`);
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

let cached: { setting: string | undefined; list: BlockList } | undefined;
function trusted(): BlockList {
  const setting = process.env.GATEHOUSE_TRUSTED_PROXIES;
  if (!cached || cached.setting !== setting) cached = { setting, list: trustedProxies(setting) };
  return cached.list;
}

function normalise(candidate: string): string | undefined {
  const bare = candidate.trim().replace(/^\[|\]$/g, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return isIP(bare) ? bare : undefined;
}

/**
 * The caller's address for rate limits and the audit trail. The Node server appends the socket
 * peer to X-Forwarded-For (lib/http/node-adapter.ts), so the list ends with an address nobody
 * can forge. Walking from the right, each trusted proxy vouches for the entry before it; the
 * first address that is not a trusted proxy is the client.
 */
export function clientIp(request: { headers: HeaderReader }): string | undefined {
  const chain = (request.headers.get('x-forwarded-for') ?? '').split(',').map(normalise);
  let client: string | undefined;
  for (let index = chain.length - 1; index >= 0; index--) {
    const address = chain[index];
    if (!address) return client;
    client = address;
    if (!trusted().check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')) return address;
  }
  return client;
}

export function userAgent(request: { headers: HeaderReader }): string | undefined {
  return request.headers.get('user-agent')?.replace(/[\u0000-\u001f]/g, '').slice(0, 500) || undefined;
}
