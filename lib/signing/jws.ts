import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Compact JWS with EdDSA (Ed25519) and a `kid`, written with node:crypto alone so the same file
 * signs on the server and verifies inside gatehouse-sync's single bundled file. Verification
 * accepts only EdDSA, only a key from the caller's trusted set, and only the expected `typ`:
 * a signed plugin version can never be replayed as an entitled set, or the other way round.
 */

export interface Ed25519Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid?: string;
  alg?: 'EdDSA';
  use?: 'sig';
}

/** Why a JWS was refused, for callers that answer each case differently (unknown key → fetch rollovers). */
export type JwsFailure = 'malformed' | 'wrong_type' | 'unknown_key' | 'bad_signature' | 'forked';

export class JwsError extends Error {
  override name = 'JwsError';
  constructor(
    message: string,
    readonly reason: JwsFailure = 'malformed',
  ) {
    super(message);
  }
}

export interface JwsHeader {
  alg: 'EdDSA';
  kid: string;
  typ: string;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** RFC 7638 thumbprint of an Ed25519 public JWK: the key's `kid`. */
export function jwkThumbprint(jwk: Pick<Ed25519Jwk, 'crv' | 'kty' | 'x'>): string {
  return createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })).digest('base64url');
}

export function publicJwkOf(publicKey: KeyObject): Ed25519Jwk {
  const jwk = publicKey.export({ format: 'jwk' }) as { kty?: string; crv?: string; x?: string };
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) throw new JwsError('not an Ed25519 public key');
  const base = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: jwk.x };
  return { ...base, kid: jwkThumbprint(base), alg: 'EdDSA', use: 'sig' };
}

export function keyFromJwk(jwk: Ed25519Jwk): KeyObject {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new JwsError('only Ed25519 keys (kty OKP, crv Ed25519) are trusted');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
}

export function signCompact(payload: unknown, header: { kid: string; typ: string }, privateKey: KeyObject): string {
  const protectedHeader = base64url(JSON.stringify({ alg: 'EdDSA', kid: header.kid, typ: header.typ }));
  const body = base64url(JSON.stringify(payload));
  const signature = sign(null, Buffer.from(`${protectedHeader}.${body}`), privateKey);
  return `${protectedHeader}.${body}.${base64url(signature)}`;
}

/** The header of a compact JWS, unverified: only to pick the key. */
export function peekHeader(jws: string): JwsHeader {
  const [encoded] = jws.split('.');
  try {
    const header = JSON.parse(Buffer.from(encoded ?? '', 'base64url').toString('utf8')) as Partial<JwsHeader>;
    if (header.alg !== 'EdDSA' || typeof header.kid !== 'string' || typeof header.typ !== 'string') throw new JwsError('header must name alg EdDSA, a kid and a typ');
    return header as JwsHeader;
  } catch (error) {
    if (error instanceof JwsError) throw error;
    throw new JwsError('unreadable JWS header');
  }
}

/**
 * The payload, after checking the signature with the trusted key the header's kid names.
 * `trusted` maps kid → key; an unknown kid is refused, never fetched.
 */
export function verifyCompact<T = unknown>(jws: string, trusted: ReadonlyMap<string, KeyObject>, expectedTyp: string): { payload: T; kid: string } {
  const parts = jws.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) throw new JwsError('not a compact JWS');
  const header = peekHeader(jws);
  if (header.typ !== expectedTyp) throw new JwsError(`expected a ${expectedTyp}, got ${header.typ}`, 'wrong_type');
  const key = trusted.get(header.kid);
  if (!key) throw new JwsError(`signed by key ${header.kid}, which is not trusted here`, 'unknown_key');
  const ok = verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'));
  if (!ok) throw new JwsError(`signature does not verify with key ${header.kid}`, 'bad_signature');
  try {
    return { payload: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as T, kid: header.kid };
  } catch {
    throw new JwsError('payload is not JSON');
  }
}

/** Trusted keys from a JWK Set: Ed25519 keys only, each under its own thumbprint. */
export function trustedKeysFrom(jwks: { keys: readonly Ed25519Jwk[] }): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const jwk of jwks.keys) {
    const key = keyFromJwk(jwk);
    keys.set(jwkThumbprint(jwk), key);
  }
  return keys;
}

/** JWS typ values, one per kind of document the organisation signs. */
export const JWS_TYPES = {
  pluginVersion: 'gatehouse-plugin-version+jws',
  pluginSet: 'gatehouse-plugin-set+jws',
  keyRollover: 'gatehouse-key-rollover+jws',
  mcpManifest: 'gatehouse-mcp-manifest+jws',
  mcpRevocations: 'gatehouse-mcp-revocations+jws',
  mcpAllowlist: 'gatehouse-mcp-allowlist+jws',
} as const;

/** A key rollover statement: the retiring key vouches for its successor. */
export interface KeyRollover {
  /** The kid of the key being replaced: the statement counts only when signed by that key. */
  previous: string;
  next: Ed25519Jwk;
  iat: number;
}

/**
 * Extends `trusted` with keys that a trusted key endorsed (in any order, transitively): how a
 * device that pinned the original key follows rotations without anyone re-pinning it. A
 * statement counts only when the key that signed it is the `previous` it names: a key vouches for
 * its own successor, never for a successor of some other key. A key has one successor: `followed`
 * (previous kid → successor, the device's memory of rollovers it followed, updated here) is
 * checked first, and a statement naming a different successor for a key, here or before, is
 * refused with a `forked` JwsError (a replaced key that leaked can sign a second successor; the
 * organisation only ever signs one). Returns the kids added.
 */
export function followRollovers(trusted: Map<string, KeyObject>, rollovers: readonly string[], followed: Map<string, Ed25519Jwk> = new Map()): string[] {
  const added: string[] = [];
  const adopt = (previous: string, next: Ed25519Jwk): boolean => {
    const kid = jwkThumbprint(next);
    if (kid === previous) return false;
    const known = followed.get(previous);
    if (known && jwkThumbprint(known) !== kid) {
      throw new JwsError(`organisation key ${previous} endorsed two successors, ${jwkThumbprint(known)} (followed) and ${kid}: a forked key chain, refused (a replaced key may have leaked)`, 'forked');
    }
    followed.set(previous, next);
    if (trusted.has(kid)) return false;
    trusted.set(kid, keyFromJwk(next));
    added.push(kid);
    return true;
  };
  // Rollovers followed before are followed again first (a device re-pinned with its original key).
  for (let progress = true; progress; ) {
    progress = false;
    for (const [previous, next] of followed) if (trusted.has(previous) && !trusted.has(jwkThumbprint(next))) progress = adopt(previous, next) || progress;
  }
  for (let progress = true; progress; ) {
    progress = false;
    for (const statement of rollovers) {
      let verified: { payload: KeyRollover; kid: string };
      try {
        verified = verifyCompact<KeyRollover>(statement, trusted, JWS_TYPES.keyRollover);
      } catch {
        continue;
      }
      if (verified.payload.previous !== verified.kid || !verified.payload.next) continue;
      progress = adopt(verified.kid, verified.payload.next) || progress;
    }
  }
  return added;
}

/**
 * The trusted keys that no followed rollover replaced: the head of the chain. Documents that
 * expire (entitled sets, MCP allowlists, manifests, revocation lists) are accepted only from these:
 * a replaced key that leaked must not sign them, whether or not it is still published.
 */
export function currentKeys(trusted: ReadonlyMap<string, KeyObject>, followed: ReadonlyMap<string, Ed25519Jwk>): Map<string, KeyObject> {
  return new Map([...trusted].filter(([kid]) => !followed.has(kid)));
}
