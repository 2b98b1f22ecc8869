import { createHash, type KeyObject } from 'node:crypto';
import { isRecord } from '@/lib/platform/json';
import { JwsError, JWS_TYPES, verifyCompact } from '../../signing/jws';
import { subjectRefusal, type DocumentSubject } from '../../signing/subject';
import type { AllowlistResponse, McpAllowlist, McpManifest, McpRevocationList, ToolPolicyMap } from './documents';

/**
 * Checks a signed MCP allowlist the way a device must before acting on it: every part signed by a
 * trusted organisation key, unexpired, of the right kind, consistent with the others, none of its
 * manifests revoked, and not older than what the device applied last. Pure (node: and project
 * files only), so gatehouse-sync bundles it; the server's tests use it too.
 */

export type AllowlistFailure = 'malformed' | 'tampered' | 'unknown_key' | 'expired' | 'not_yet_valid' | 'revoked' | 'replayed' | 'mismatch';

export class AllowlistVerificationError extends Error {
  override name = 'AllowlistVerificationError';
  constructor(
    message: string,
    readonly code: AllowlistFailure,
  ) {
    super(message);
  }
}

export interface VerifyOptions {
  /** kid → organisation public key (lib/signing trustedKeysFrom, plus followed rollovers). */
  trusted: ReadonlyMap<string, KeyObject>;
  /** Unix seconds; defaults to now. */
  now?: number;
  /** The allowlist this device applied last: anything older is a replay. */
  last?: { seq: number; iat: number } | null;
  /** Whose allowlist this device applies (pinned when it applied its first; lib/signing/subject.ts says why). */
  subject?: DocumentSubject | null;
  clockSkewSeconds?: number;
}

export interface VerifiedServer {
  manifest: McpManifest;
  toolPolicy: ToolPolicyMap;
}

export interface VerifiedAllowlist {
  seq: number;
  iat: number;
  allowlist: McpAllowlist;
  servers: VerifiedServer[];
  revocations: McpRevocationList;
}

const DEFAULT_SKEW_SECONDS = 120;
const SERVER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TOOL_POLICY_VALUES = new Set(['allow', 'ask', 'blocked']);

export function jwsSha256(jws: string): string {
  return createHash('sha256').update(jws).digest('hex');
}

function fail(message: string, code: AllowlistFailure): never {
  throw new AllowlistVerificationError(message, code);
}

function verified<T>(jws: string, typ: string, what: string, trusted: ReadonlyMap<string, KeyObject>): T {
  try {
    return verifyCompact<T>(jws, trusted, typ).payload;
  } catch (error) {
    if (!(error instanceof JwsError)) throw error;
    if (error.reason === 'unknown_key') fail(`${what}: ${error.message}`, 'unknown_key');
    if (error.reason === 'bad_signature') fail(`${what} was altered after signing: ${error.message}`, 'tampered');
    fail(`${what}: ${error.message}`, 'malformed');
  }
}

function checkTimes(document: { iat?: unknown; exp?: unknown; seq?: unknown }, what: string, options: VerifyOptions): void {
  const { iat, exp, seq } = document;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp) || !Number.isSafeInteger(seq) || (seq as number) < 0) fail(`${what} has no valid sequence, issue or expiry time`, 'malformed');
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const skew = options.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS;
  if ((iat as number) > now + skew) fail(`${what} is dated ${(iat as number) - now}s in the future; check this device's clock`, 'not_yet_valid');
  if (now > (exp as number) + skew) fail(`${what} expired ${now - (exp as number)}s ago`, 'expired');
  const last = options.last;
  if (last && (seq as number) < last.seq) fail(`${what} has sequence ${seq as number}, older than the ${last.seq} this device applied: refusing a replay or rollback`, 'replayed');
}

function checkManifestShape(manifest: McpManifest): void {
  const value = manifest as unknown as Record<string, unknown>;
  const server = value.server;
  if (!isRecord(server) || typeof server.id !== 'string' || typeof server.name !== 'string' || !SERVER_NAME.test(server.name)) fail('manifest names no valid server', 'malformed');
  if (typeof value.tenant !== 'string' || !Number.isSafeInteger(value.version) || !Array.isArray(value.tools)) fail(`manifest of ${server.name} is incomplete`, 'malformed');
  if (value.transport === 'http') {
    if (typeof value.url !== 'string' || !/^https?:\/\//.test(value.url)) fail(`manifest of ${server.name} has no http(s) URL`, 'malformed');
  } else if (value.transport === 'stdio') {
    const args = value.args;
    if (typeof value.command !== 'string' || !value.command || !Array.isArray(args) || args.some((arg) => typeof arg !== 'string') || !isRecord(value.env)) fail(`manifest of ${server.name} has no valid command`, 'malformed');
  } else {
    fail(`manifest of ${server.name} has an unknown transport`, 'malformed');
  }
}

/** Whether the revocation list covers this manifest's server and version. */
export function isRevoked(revocations: McpRevocationList, manifest: Pick<McpManifest, 'server' | 'version'>): boolean {
  return revocations.servers.some((entry) => (entry.id === manifest.server.id || entry.name === manifest.server.name) && (entry.versions === 'all' || entry.versions.includes(manifest.version)));
}

/** One revocation list: signed, unexpired, not older than the device's last. */
export function verifyRevocationList(jws: string, options: VerifyOptions): McpRevocationList {
  const list = verified<McpRevocationList>(jws, JWS_TYPES.mcpRevocations, 'the revocation list', options.trusted);
  checkTimes(list, 'the revocation list', options);
  if (!Array.isArray(list.servers) || list.servers.some((entry) => !isRecord(entry) || typeof entry.id !== 'string' || typeof entry.name !== 'string' || !(entry.versions === 'all' || Array.isArray(entry.versions)))) {
    fail('the revocation list is not a list of servers', 'malformed');
  }
  return list;
}

/** One manifest: signed, unexpired, well-formed, not a replay, and not revoked by `revocations`. */
export function verifyManifest(jws: string, options: VerifyOptions & { revocations: McpRevocationList }): McpManifest {
  const manifest = verified<McpManifest>(jws, JWS_TYPES.mcpManifest, 'a manifest', options.trusted);
  checkManifestShape(manifest);
  checkTimes(manifest, `the manifest of ${manifest.server.name}`, options);
  if (manifest.tenant !== options.revocations.tenant) fail(`the manifest of ${manifest.server.name} belongs to another tenant`, 'mismatch');
  if (isRevoked(options.revocations, manifest)) fail(`${manifest.server.name} version ${manifest.version} is revoked`, 'revoked');
  return manifest;
}

function checkToolPolicy(policy: unknown, name: string): ToolPolicyMap {
  if (!isRecord(policy) || Object.values(policy).some((value) => typeof value !== 'string' || !TOOL_POLICY_VALUES.has(value))) fail(`the tool policy for ${name} is not a map of allow | ask | blocked`, 'malformed');
  return policy as ToolPolicyMap;
}

/**
 * A whole GET /api/v1/mcp/allowlist answer. Fails closed: any part that does not check out
 * refuses the whole answer, and the device keeps what it had.
 */
export function verifyAllowlist(response: AllowlistResponse, options: VerifyOptions): VerifiedAllowlist {
  if (!isRecord(response) || typeof response.allowlist !== 'string' || typeof response.revocations !== 'string' || !Array.isArray(response.manifests)) fail('the answer is not an allowlist (allowlist, manifests, revocations)', 'malformed');
  const allowlist = verified<McpAllowlist>(response.allowlist, JWS_TYPES.mcpAllowlist, 'the allowlist', options.trusted);
  checkTimes(allowlist, 'the allowlist', options);
  const refusal = subjectRefusal(allowlist, options.subject, 'the allowlist');
  if (refusal) fail(refusal, 'mismatch');
  const last = options.last;
  if (last && allowlist.seq === last.seq && allowlist.iat < last.iat) fail(`the allowlist was issued before the one this device applied (sequence ${last.seq}): refusing a replay`, 'replayed');
  if (!Array.isArray(allowlist.servers)) fail('the allowlist lists no servers', 'malformed');

  const revocations = verifyRevocationList(response.revocations, options);
  if (jwsSha256(response.revocations) !== allowlist.revocationsSha256 || revocations.seq !== allowlist.seq || revocations.tenant !== allowlist.tenant) {
    fail('the revocation list is not the one the allowlist was issued with', 'mismatch');
  }

  // Every manifest sent is checked on its own first (signature, expiry, revocation), then matched
  // to the allowlist's entries by its sha256.
  const bySha = new Map<string, McpManifest>();
  for (const jws of response.manifests) {
    if (typeof jws !== 'string') fail('a manifest is not a compact JWS', 'malformed');
    bySha.set(jwsSha256(jws), verifyManifest(jws, { ...options, revocations }));
  }
  const servers: VerifiedServer[] = [];
  const names = new Set<string>();
  for (const entry of allowlist.servers) {
    const manifest = bySha.get(entry.manifestSha256);
    if (!manifest) fail(`the manifest the allowlist names for ${entry.name} is missing`, 'mismatch');
    if (manifest.server.id !== entry.id || manifest.server.name !== entry.name || manifest.version !== entry.version || manifest.seq !== allowlist.seq) {
      fail(`the manifest of ${entry.name} does not match the allowlist's entry`, 'mismatch');
    }
    if (names.has(entry.name)) fail(`the allowlist names ${entry.name} twice`, 'mismatch');
    names.add(entry.name);
    servers.push({ manifest, toolPolicy: checkToolPolicy(entry.toolPolicy, entry.name) });
  }
  return { seq: allowlist.seq, iat: allowlist.iat, allowlist, servers, revocations };
}
