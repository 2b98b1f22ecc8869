import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JWS_TYPES, publicJwkOf, signCompact, trustedKeysFrom } from '@/lib/signing/jws';
import type { AllowlistResponse, McpAllowlist, McpManifest, McpRevocationList, RevokedServer } from './documents';
import { AllowlistVerificationError, jwsSha256, verifyAllowlist, type AllowlistFailure, type VerifyOptions } from './verify';

/**
 * The device-side verifier against documents signed here with throwaway Ed25519 keys: a good
 * allowlist passes, and each way of forging or replaying one is refused with its own code.
 */

function keyPair(): { privateKey: KeyObject; kid: string; trusted: Map<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicJwkOf(publicKey);
  return { privateKey, kid: jwk.kid!, trusted: trustedKeysFrom({ keys: [jwk] }) };
}

const organisation = keyPair();
const stranger = keyPair();
const NOW = 1_800_000_000;
const TENANT = '00000000-0000-4000-8000-000000000001';

interface Build {
  seq?: number;
  iat?: number;
  key?: { privateKey: KeyObject; kid: string };
  revoked?: RevokedServer[];
  /** Signs a manifest of this server name into the set though the revocation list covers it. */
  names?: string[];
}

function manifestFor(name: string, index: number, seq: number, iat: number): McpManifest {
  return {
    iss: 'https://gatehouse.example.com',
    tenant: TENANT,
    server: { id: `00000000-0000-4000-8000-00000000010${index}`, name, description: `${name} tools` },
    version: 1,
    versionId: `00000000-0000-4000-8000-00000000020${index}`,
    tools: [{ name: 'search', schemaHash: 'a'.repeat(64) }],
    toolsDigest: 'b'.repeat(64),
    scope: [{ kind: 'everyone', subject: '' }],
    seq,
    iat,
    exp: iat + 3600,
    transport: 'http',
    url: `https://gatehouse.example.com/mcp/servers/${name}`,
    upstreamTransport: 'streamable_http',
  };
}

function build(options: Build = {}): AllowlistResponse {
  const seq = options.seq ?? 7;
  const iat = options.iat ?? NOW;
  const key = options.key ?? organisation;
  const sign = (payload: unknown, typ: string) => signCompact(payload, { kid: key.kid, typ }, key.privateKey);
  const manifests = (options.names ?? ['search', 'tickets']).map((name, index) => manifestFor(name, index, seq, iat));
  const manifestJws = manifests.map((manifest) => sign(manifest, JWS_TYPES.mcpManifest));
  const revocations: McpRevocationList = { iss: 'https://gatehouse.example.com', tenant: TENANT, seq, iat, exp: iat + 3600, servers: options.revoked ?? [] };
  const revocationJws = sign(revocations, JWS_TYPES.mcpRevocations);
  const allowlist: McpAllowlist = {
    iss: 'https://gatehouse.example.com',
    tenant: TENANT,
    sub: '00000000-0000-4000-8000-000000000009',
    email: 'dev@example.com',
    seq,
    iat,
    exp: iat + 3600,
    servers: manifests.map((manifest, index) => ({ id: manifest.server.id, name: manifest.server.name, version: manifest.version, manifestSha256: jwsSha256(manifestJws[index]!), toolPolicy: { 'delete_*': 'blocked' } })),
    revocationsSha256: jwsSha256(revocationJws),
  };
  return { seq, allowlist: sign(allowlist, JWS_TYPES.mcpAllowlist), manifests: manifestJws, revocations: revocationJws };
}

/** One character of the signed payload changed: the JWS still parses, but its signature no longer matches. */
function tamperOneByte(jws: string): string {
  const [header, payload, signature] = jws.split('.');
  const index = Math.floor(payload!.length / 2);
  const replacement = payload![index] === 'A' ? 'B' : 'A';
  return `${header}.${payload!.slice(0, index)}${replacement}${payload!.slice(index + 1)}.${signature}`;
}

const options = (extra: Partial<VerifyOptions> = {}): VerifyOptions => ({ trusted: organisation.trusted, now: NOW + 60, ...extra });

function refusal(run: () => unknown): AllowlistFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof AllowlistVerificationError) return error.code;
    throw error;
  }
  throw new Error('the verifier accepted it');
}

describe('MCP allowlist verifier', () => {
  it('accepts an allowlist signed by the trusted key, with its manifests and tool policy', () => {
    const verified = verifyAllowlist(build(), options());
    expect(verified.seq).toBe(7);
    expect(verified.servers.map((server) => server.manifest.server.name)).toEqual(['search', 'tickets']);
    expect(verified.servers[0]!.toolPolicy).toEqual({ 'delete_*': 'blocked' });
  });

  const good = build();
  const revokedTickets = build({ revoked: [{ id: manifestFor('tickets', 1, 7, NOW).server.id, name: 'tickets', versions: 'all' }] });
  const table: { name: string; response: AllowlistResponse; extra?: Partial<VerifyOptions>; code: AllowlistFailure }[] = [
    { name: 'one byte of a manifest tampered', response: { ...good, manifests: [tamperOneByte(good.manifests[0]!), good.manifests[1]!] }, code: 'tampered' },
    { name: 'one byte of the allowlist tampered', response: { ...good, allowlist: tamperOneByte(good.allowlist) }, code: 'tampered' },
    { name: 'one byte of the revocation list tampered', response: { ...good, revocations: tamperOneByte(good.revocations) }, code: 'tampered' },
    { name: 'signed with a key the device does not trust', response: build({ key: stranger }), code: 'unknown_key' },
    { name: 'expired', response: build({ iat: NOW - 7200 }), code: 'expired' },
    { name: 'a manifest the revocation list covers', response: revokedTickets, code: 'revoked' },
    { name: 'an older sequence than the device applied (replay)', response: build({ seq: 5 }), extra: { last: { seq: 6, iat: NOW - 10 } }, code: 'replayed' },
    { name: 'the same sequence issued earlier than the one applied (replay)', response: build({ iat: NOW - 100 }), extra: { last: { seq: 7, iat: NOW } }, code: 'replayed' },
    { name: 'dated in the future', response: build({ iat: NOW + 3600 }), code: 'not_yet_valid' },
    { name: 'a manifest left out', response: { ...good, manifests: [good.manifests[0]!] }, code: 'mismatch' },
    { name: 'a revocation list from another issue', response: { ...good, revocations: build({ seq: 8 }).revocations }, code: 'mismatch' },
    { name: 'another person’s allowlist', response: good, extra: { subject: { tenant: TENANT, sub: '00000000-0000-4000-8000-000000000010' } }, code: 'mismatch' },
    { name: 'another organisation’s allowlist', response: good, extra: { subject: { tenant: '00000000-0000-4000-8000-000000000002', sub: '00000000-0000-4000-8000-000000000009' } }, code: 'mismatch' },
    { name: 'a manifest swapped for one of another sequence', response: { ...good, manifests: [build({ seq: 8 }).manifests[0]!, good.manifests[1]!] }, code: 'mismatch' },
  ];
  it.each(table)('refuses $name as $code', ({ response, extra, code }) => {
    expect(refusal(() => verifyAllowlist(response, options(extra)))).toBe(code);
  });

  it('refuses a typ confusion: a manifest presented as the allowlist', () => {
    expect(refusal(() => verifyAllowlist({ ...good, allowlist: good.manifests[0]! }, options()))).toBe('malformed');
  });

  it('accepts the allowlist of the person the device applies', () => {
    expect(verifyAllowlist(good, options({ subject: { tenant: TENANT, sub: '00000000-0000-4000-8000-000000000009' } })).seq).toBe(7);
  });

  it('accepts a newer allowlist after an older one, and a re-issue of the same sequence', () => {
    expect(verifyAllowlist(build({ seq: 8 }), options({ last: { seq: 7, iat: NOW } })).seq).toBe(8);
    expect(verifyAllowlist(build({ seq: 7, iat: NOW + 30 }), options({ last: { seq: 7, iat: NOW } })).seq).toBe(7);
  });
});
