/**
 * Which addresses Gatehouse may fetch from on a caller's behalf (remote images, client metadata
 * documents): global unicast only. ipaddr.js
 * classifies the address (its range tables follow the IANA special-purpose registries): private
 * (10/8, 172.16/12, 192.168/16), loopback, link-local (169.254/16, where cloud metadata lives,
 * and fe80::/10), carrier-grade NAT (100.64/10), multicast, unique-local IPv6 (fc00::/7, which
 * holds AWS's fd00:ec2::254), unspecified, broadcast, reserved, benchmarking, the IPv6 forms
 * that carry an IPv4 address (mapped, IPv4-compatible, NAT64, 6to4, Teredo) and any IPv6 address
 * outside 2000::/3 are all refused.
 */
import ipaddr from 'ipaddr.js';

/** Cloud metadata services by name, refused before any lookup (their addresses are refused too). */
const METADATA_HOSTNAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

export function isMetadataHostname(hostname: string): boolean {
  return METADATA_HOSTNAMES.has(hostname.toLowerCase().replace(/\.$/, ''));
}

// IANA allocates global unicast IPv6 from 2000::/3 only. ipaddr.js names what it has no range
// for `unicast`, the deprecated IPv4-compatible form `::a.b.c.d` (::/96) included.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];

/** The address's range name (`unicast`, `private`, `loopback`, `linkLocal`…), IPv4-mapped IPv6 read as IPv4. */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === 'unicast' && parsed.kind() === 'ipv6' && !(parsed as ipaddr.IPv6).match(GLOBAL_UNICAST_V6)) return 'outsideGlobalUnicast';
  return range;
}

export function isPublicAddress(address: string): boolean {
  return addressRange(address) === 'unicast';
}

/**
 * Cloud metadata and instance-credential endpoints by address: refused for every upstream, even
 * one allowed the private network (AWS/GCP/Azure 169.254.169.254, ECS task credentials
 * 169.254.170.2, AWS IPv6 fd00:ec2::254, Alibaba 100.100.100.200).
 */
const METADATA_ADDRESSES = new Set(['169.254.169.254', '169.254.170.2', '169.254.170.23', 'fd00:ec2::254', '100.100.100.200']);

/** Ranges an administrator may open per upstream (allowPrivateNetwork): the company network and this host. */
const PRIVATE_NETWORK_RANGES = new Set(['private', 'loopback', 'uniqueLocal', 'carrierGradeNat']);

/**
 * Whether an upstream an administrator registered (an MCP server) may be reached at `address`:
 * public addresses always; private, loopback, unique-local and carrier-grade NAT only when the
 * upstream is allowed the private network; link-local (where metadata lives), metadata addresses,
 * multicast, unspecified and the rest never.
 */
export function isUpstreamAddressAllowed(address: string, allowPrivateNetwork: boolean): boolean {
  if (!ipaddr.isValid(address)) return false;
  if (METADATA_ADDRESSES.has(ipaddr.process(address).toString())) return false;
  const range = addressRange(address);
  if (range === 'unicast') return true;
  return allowPrivateNetwork && PRIVATE_NETWORK_RANGES.has(range);
}
