import { configuredIssuer } from '@/lib/oauth/issuer';
import { activeOrgKid, JWS_TYPES, signAsOrganisation } from '@/lib/signing';
import type { Principal } from '@/lib/tokens';
import { ALLOWLIST_TTL_SECONDS, type AllowlistEntry, type AllowlistResponse, type McpAllowlist, type McpManifest, type McpRevocationList, type ToolPolicyMap } from './documents';
import { toolPolicyOf } from './policy';
import { allowlistSequence } from '@/lib/mcp/registry';
import { proxiedServerUrl } from '@/lib/mcp/resource';
import { audienceFor, inScope, tenantRegistry, type ApprovedServer, type TenantRegistry } from './source';
import { jwsSha256 } from './verify';

/**
 * Issues the signed allowlist. The tenant's manifests and revocation list are signed once per
 * allowlist sequence (and again when half their lifetime is gone); each person's allowlist picks
 * the manifests in their scope and adds their tool policy, cached per sequence and person. A
 * registry or policy change bumps the sequence, so the next request after it sees the change.
 */

/** Where clients reach a registered server: Gatehouse's MCP proxy (its OAuth resource), never the upstream. */
export function proxyUrlOf(name: string, issuer: string = configuredIssuer()): string {
  return proxiedServerUrl(name, issuer);
}

interface SignedManifest {
  server: ApprovedServer;
  manifest: McpManifest;
  jws: string;
  sha256: string;
}

interface TenantDocuments {
  tenantId: string;
  issuer: string;
  seq: number;
  iat: number;
  registry: TenantRegistry;
  manifests: SignedManifest[];
  revocations: { list: McpRevocationList; jws: string; sha256: string };
  /** The organisation keys that signed the manifests and revocation list (one, unless a rotation came mid-way). */
  kids: Set<string>;
  /** Per-person allowlists issued from these documents. */
  people: Map<string, Promise<IssuedAllowlist>>;
}

/** A server in a person's allowlist, with what the client shapes are generated from. */
export interface IssuedServer {
  server: ApprovedServer;
  manifest: McpManifest;
  toolPolicy: ToolPolicyMap;
}

export interface IssuedAllowlist {
  response: AllowlistResponse;
  servers: IssuedServer[];
  /** Every registered remote server's upstream URL (for Claude Code's deniedMcpServers). */
  upstreamUrls: string[];
  revoked: McpRevocationList['servers'];
  /** Whether the tenant has registered any MCP server at all (if not, clients are left as they are). */
  inUse: boolean;
}

const PEOPLE_PER_SEQUENCE = 5000;

const globalCache = globalThis as typeof globalThis & { __gatehouseMcpAllowlist?: Map<string, Promise<TenantDocuments>> };

function tenantCache(): Map<string, Promise<TenantDocuments>> {
  globalCache.__gatehouseMcpAllowlist ??= new Map();
  return globalCache.__gatehouseMcpAllowlist;
}

/** Forgets every cached document (tests rotating keys; a key rotation). */
export function clearAllowlistCache(): void {
  tenantCache().clear();
}

function manifestOf(server: ApprovedServer, tenantId: string, issuer: string, times: { seq: number; iat: number; exp: number }): McpManifest {
  const base = {
    iss: issuer,
    tenant: tenantId,
    server: { id: server.id, name: server.name, description: server.description },
    version: server.approvedVersion.version,
    versionId: server.approvedVersion.id,
    tools: server.approvedVersion.tools.map((tool) => ({ name: tool.name, schemaHash: tool.schemaHash })),
    toolsDigest: server.approvedVersion.toolsDigest,
    scope: server.scope.map((entry) => ({ kind: entry.kind, subject: entry.subject })),
    ...times,
  };
  if (server.transport === 'stdio') return { ...base, transport: 'stdio', command: server.command ?? '', args: server.args, env: server.env };
  // Clients speak Streamable HTTP to the proxy whatever the upstream speaks.
  return { ...base, transport: 'http', url: proxyUrlOf(server.name, issuer), upstreamTransport: server.transport };
}

async function buildTenantDocuments(tenantId: string, issuer: string): Promise<TenantDocuments> {
  const registry = await tenantRegistry(tenantId);
  const seq = registry.seq;
  const iat = Math.floor(Date.now() / 1000);
  const times = { seq, iat, exp: iat + ALLOWLIST_TTL_SECONDS };
  const manifests: SignedManifest[] = [];
  const kids = new Set<string>();
  for (const server of registry.approved) {
    const manifest = manifestOf(server, tenantId, issuer, times);
    const { jws, kid } = await signAsOrganisation(manifest, JWS_TYPES.mcpManifest);
    kids.add(kid);
    manifests.push({ server, manifest, jws, sha256: jwsSha256(jws) });
  }
  const list: McpRevocationList = { iss: issuer, tenant: tenantId, ...times, servers: registry.revoked };
  const { jws, kid } = await signAsOrganisation(list, JWS_TYPES.mcpRevocations);
  kids.add(kid);
  return { tenantId, issuer, seq, iat, registry, manifests, revocations: { list, jws, sha256: jwsSha256(jws) }, kids, people: new Map() };
}

/** Registered servers exist (live, revoked, or waiting for a first approved tool list). */
function registryInUse(registry: TenantRegistry): boolean {
  return registry.registered > 0;
}

/**
 * Still servable: same sequence and issuer, half their lifetime left, and signed by the key in use
 * (a device that followed a rotation accepts expiring documents from the current key only).
 */
function fresh(documents: TenantDocuments, seq: number, issuer: string, kid: string): boolean {
  const signedByCurrent = documents.kids.size === 1 && documents.kids.has(kid);
  return signedByCurrent && documents.seq === seq && documents.issuer === issuer && Math.floor(Date.now() / 1000) < documents.iat + ALLOWLIST_TTL_SECONDS / 2;
}

/** The tenant's signed manifests and revocation list for its current sequence. */
async function tenantDocuments(tenantId: string, issuer: string): Promise<TenantDocuments> {
  const seq = Number(await allowlistSequence(tenantId));
  const cache = tenantCache();
  const cached = cache.get(tenantId);
  if (cached) {
    const documents = await cached.catch(() => null);
    if (documents && fresh(documents, seq, issuer, await activeOrgKid())) return documents;
  }
  const building = buildTenantDocuments(tenantId, issuer);
  cache.set(tenantId, building);
  building.catch(() => {
    if (cache.get(tenantId) === building) cache.delete(tenantId);
  });
  return building;
}

async function issueFor(documents: TenantDocuments, principal: Principal): Promise<IssuedAllowlist> {
  const audience = await audienceFor(principal);
  const entitled = audience ? documents.manifests.filter((signed) => inScope(signed.server, audience)) : [];
  const servers: IssuedServer[] = [];
  const entries: AllowlistEntry[] = [];
  for (const signed of entitled) {
    const toolPolicy = await toolPolicyOf(principal, signed.server);
    servers.push({ server: signed.server, manifest: signed.manifest, toolPolicy });
    entries.push({ id: signed.server.id, name: signed.server.name, version: signed.manifest.version, manifestSha256: signed.sha256, toolPolicy });
  }
  const allowlist: McpAllowlist = {
    iss: documents.issuer,
    tenant: documents.tenantId,
    sub: principal.userId,
    email: principal.email,
    seq: documents.seq,
    iat: documents.iat,
    exp: documents.iat + ALLOWLIST_TTL_SECONDS,
    servers: entries,
    revocationsSha256: documents.revocations.sha256,
  };
  const { jws } = await signAsOrganisation(allowlist, JWS_TYPES.mcpAllowlist);
  return {
    response: { seq: documents.seq, allowlist: jws, manifests: entitled.map((signed) => signed.jws), revocations: documents.revocations.jws },
    servers,
    upstreamUrls: documents.registry.upstreamUrls,
    revoked: documents.revocations.list.servers,
    inUse: registryInUse(documents.registry),
  };
}

/** What decides a person's allowlist besides the sequence: who they are, their department and roles. */
function personKey(principal: Principal): string {
  return [principal.userId, principal.department ?? '', [...principal.roles].sort().join(',')].join('\u0000');
}

/** The caller's signed allowlist and the servers in it. */
export async function allowlistFor(principal: Principal, issuer: string = configuredIssuer()): Promise<IssuedAllowlist> {
  const documents = await tenantDocuments(principal.tenantId, issuer);
  const key = personKey(principal);
  const cached = documents.people.get(key);
  if (cached) return cached;
  if (documents.people.size >= PEOPLE_PER_SEQUENCE) documents.people.clear();
  const issuing = issueFor(documents, principal);
  documents.people.set(key, issuing);
  issuing.catch(() => documents.people.delete(key));
  return issuing;
}

/** The tenant's allowlist as a whole: what an organisation-wide MDM profile or settings file is made from. */
export interface OrganisationAllowlist {
  /** Every live server with an approved tool list, whatever its scope. */
  live: McpManifest[];
  /** Those scoped to everyone, with the organisation-wide tool policy (rules for everyone only). */
  everyone: IssuedServer[];
  upstreamUrls: string[];
  revoked: McpRevocationList['servers'];
  /** Whether the tenant has registered any MCP server at all (if not, clients are left as they are). */
  inUse: boolean;
}

export async function organisationAllowlist(tenantId: string, issuer: string = configuredIssuer()): Promise<OrganisationAllowlist> {
  const documents = await tenantDocuments(tenantId, issuer);
  const everyone: IssuedServer[] = [];
  for (const signed of documents.manifests) {
    if (!signed.server.scope.some((entry) => entry.kind === 'everyone')) continue;
    everyone.push({ server: signed.server, manifest: signed.manifest, toolPolicy: await toolPolicyOf(null, signed.server) });
  }
  const { registry } = documents;
  return { live: documents.manifests.map((signed) => signed.manifest), everyone, upstreamUrls: registry.upstreamUrls, revoked: registry.revoked, inUse: registryInUse(registry) };
}
