import { db } from '@/lib/db/client';
import { audienceFilter, audienceOf } from '@/lib/rbac/audience';
import { JWS_TYPES, signAsOrganisation } from '@/lib/signing';
import { currentSequence, latestApproved } from './store';

/** How long a signed set is good for: a device refuses one older than this (no replay). */
export const SET_FRESHNESS_SECONDS = 600;

export interface EntitledPlugin {
  name: string;
  version: string;
  versionId: string;
  digest: string;
  archiveSha256: string;
  /** Path (on the server's origin) of the archive to download. */
  archive: string;
  /** The organisation's signature over this approved version (SignedVersion). */
  signature: string;
  description: string;
  category: string;
}

/** What the signed set says: whose it is, its place in the sequence, and the plugins. */
export interface EntitledSet {
  iss: string;
  sub: string;
  email: string;
  tenant: string;
  seq: number;
  iat: number;
  exp: number;
  plugins: EntitledPlugin[];
}

export interface SetSubject {
  userId: string;
  tenantId: string;
  email: string;
}

export function archivePath(name: string, version: string): string {
  return `/api/v1/plugins/archive/${encodeURIComponent(name)}/${encodeURIComponent(version)}.zip`;
}

/**
 * The plugins a user is entitled to, computed here from the database only: active plugins with an
 * entitlement for everyone, one of the user's roles, the user's department or the user, each at
 * its newest approved (signed, not withdrawn) version.
 */
export async function entitledPlugins(subject: SetSubject): Promise<EntitledPlugin[]> {
  const audience = await audienceOf(subject.tenantId, subject.userId);
  if (!audience) return [];
  const plugins = await db().plugin.findMany({
    where: { tenantId: subject.tenantId, status: 'active', entitlements: { some: { OR: audienceFilter(audience) } } },
    include: { versions: { where: { status: 'approved', signature: { not: null } } } },
    orderBy: { name: 'asc' },
  });
  return plugins.flatMap((plugin) => {
    const version = latestApproved(plugin.versions);
    if (!version?.signature) return [];
    const manifest = version.manifest as { description?: string };
    return [
      {
        name: plugin.name,
        version: version.version,
        versionId: version.id,
        digest: version.digest,
        archiveSha256: version.archiveSha256,
        archive: archivePath(plugin.name, version.version),
        signature: version.signature,
        description: manifest.description ?? '',
        category: plugin.category,
      },
    ];
  });
}

/** The user's entitled set, signed by the organisation key. */
export async function signedEntitledSet(subject: SetSubject, issuer: string): Promise<{ jws: string; set: EntitledSet }> {
  const sequence = await currentSequence(subject.tenantId);
  const plugins = await entitledPlugins(subject);
  const iat = Math.floor(Date.now() / 1000);
  const set: EntitledSet = { iss: issuer, sub: subject.userId, email: subject.email, tenant: subject.tenantId, seq: Number(sequence), iat, exp: iat + SET_FRESHNESS_SECONDS, plugins };
  const { jws } = await signAsOrganisation(set, JWS_TYPES.pluginSet);
  return { jws, set };
}

/** Whether the user may download this version: it is in their entitled set right now. */
export async function entitledVersion(subject: SetSubject, name: string, version: string): Promise<EntitledPlugin | null> {
  const plugins = await entitledPlugins(subject);
  return plugins.find((plugin) => plugin.name === name && plugin.version === version) ?? null;
}
