import type { AdminActor } from '@/lib/admin/actor';
import type { AudienceKind } from '@/lib/rbac/audience';

/** Who changes the registry: an administrator holding `mcp.admin` tenant-wide, from the dashboard, the CLI or the API. */
export type RegistryActor = AdminActor;

export type McpTransportKind = 'streamable_http' | 'sse' | 'stdio';
export type UpstreamAuthKind = 'none' | 'static_secret' | 'oauth_user';
export type VersionStatus = 'pending' | 'approved' | 'rejected' | 'superseded';

/** One tool as a check (or an administrator, for stdio servers) recorded it. */
export interface RecordedTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  /** SHA-256 (hex) of the canonical JSON of every field above: a changed description or schema changes it. */
  schemaHash: string;
}

/** A recorded tool list. Only the approved one is what clients and the proxy use. */
export interface ServerVersion {
  id: string;
  version: number;
  tools: RecordedTool[];
  /** SHA-256 (hex) over the canonical list of tool names and schema hashes: equal digests, no drift. */
  toolsDigest: string;
  /** registration | check | edit */
  source: string;
  status: VersionStatus;
  reviewedBy: string | null;
  reviewedAt: Date | null;
  reviewComment: string | null;
  createdAt: Date;
}

export interface ScopeEntry {
  kind: AudienceKind;
  /** Role name, department id or user id; empty for everyone. */
  subject: string;
  /** How it reads: `department research`, `role security`, `user a@example.com`, `everyone`; a stale entry says why (`user a@example.com (deactivated)`). */
  label: string;
  /**
   * The person was deleted or deactivated, or the role deleted, after the entry was made: it
   * includes nobody, is never preselected by the scope editor, and the next scope change drops it.
   */
  stale?: 'removed' | 'deactivated';
}

/**
 * A registered server as the registry hands it out: everything but secrets. A static secret is
 * only ever said to exist (`hasSecret`); upstreamTarget() is the one way to the plaintext.
 */
export interface RegisteredServer {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  owner: { id: string; email: string | null };
  transport: McpTransportKind;
  url: string | null;
  command: string | null;
  args: string[];
  env: Record<string, string>;
  upstreamAuth: UpstreamAuthKind;
  /** static_secret: the header the secret is sent in. */
  secretHeader: string | null;
  hasSecret: boolean;
  /** oauth_user: the upstream OAuth client, without its secret. */
  oauth: PublicOAuthConfig | null;
  allowPrivateNetwork: boolean;
  status: 'active' | 'revoked';
  revoked: { reason: string; at: Date; by: string | null } | null;
  scope: ScopeEntry[];
  /** What clients and the proxy use; null until a first tool list is approved. */
  approvedVersion: ServerVersion | null;
  /** The newest tool list waiting for review (drift), if any. */
  pendingVersion: ServerVersion | null;
  lastCheck: { at: Date; ok: boolean; error: string | null; latencyMs: number | null } | null;
  createdAt: Date;
  updatedAt: Date;
}

/** oauth_user servers: the OAuth client Gatehouse uses at the upstream on the user's behalf. */
export interface PublicOAuthConfig {
  /** The upstream's authorization server (issuer URL); discovered from the server when absent. */
  authorizationServer?: string;
  clientId?: string;
  /** Space-separated scopes to ask for. */
  scope?: string;
  hasClientSecret: boolean;
}
