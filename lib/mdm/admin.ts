import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AdminActor } from '@/lib/admin/actor';
import { recordAdminChange } from '@/lib/admin/audit';
import { requireAdmin } from '@/lib/admin/guard';
import { organisationCaPem } from '@/lib/mcpb';
import { generateArtifact, type Artifact, type ArtifactKind, type ArtifactOptions } from './artifacts';
import { rolloutContext } from './context';
import { MdmError } from './errors';
import { loadRolloutSettings, saveRolloutSettings, validateRolloutSettings, type RolloutSettings } from './settings';

// The Rollout page's operations: policy.admin tenant-wide, every change and download audited.

const ROLLOUT_TARGET = { type: 'rollout_settings' as const, name: 'device rollout' };

export async function requireRolloutAdmin(actor: AdminActor, action: string): Promise<void> {
  await requireAdmin(actor, 'policy.admin', undefined, action, ROLLOUT_TARGET);
}

function changedKeys(before: RolloutSettings, after: RolloutSettings): string[] {
  return (Object.keys(after) as (keyof RolloutSettings)[]).filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

/** Saves the page's settings as a new version; refused unless `expectedVersion` is still current. */
export async function updateRolloutSettings(actor: AdminActor, input: unknown, expectedVersion: number): Promise<{ version: number; changed: string[] }> {
  await requireRolloutAdmin(actor, 'rollout.settings.update');
  const settings = validateRolloutSettings(input);
  const before = await loadRolloutSettings(actor.tenantId);
  // A profile that cannot be generated is refused here, not at download time.
  await generateArtifact(await rolloutContext(actor.tenantId, { settings }), 'desktop-mobileconfig');
  const version = await saveRolloutSettings(actor.tenantId, settings, expectedVersion, actor.userId);
  const changed = changedKeys(before.settings, settings);
  await recordAdminChange(actor, 'rollout.settings.update', ROLLOUT_TARGET, { version, changed: changed.join(',') });
  return { version, changed };
}

/** A profile or settings file for download, generated now from live configuration. */
export async function downloadArtifact(actor: AdminActor, kind: ArtifactKind, options: ArtifactOptions = {}): Promise<Artifact> {
  await requireRolloutAdmin(actor, 'rollout.download');
  const artifact = await generateArtifact(await rolloutContext(actor.tenantId), kind, options);
  await recordRolloutDownload(actor, artifact);
  return artifact;
}

/** Every file handed out from the Rollout page is audited with its digest. */
export async function recordRolloutDownload(actor: AdminActor, artifact: Artifact): Promise<void> {
  await recordAdminChange(actor, 'rollout.download', ROLLOUT_TARGET, { file: artifact.filename, sha256: createHash('sha256').update(artifact.body).digest('hex') });
}

/** The organisation's desktop-extension CA certificate as devices install it. */
export const EXTENSION_CA_FILES = ['extension-signing-ca.pem', 'extension-signing-ca.cer'] as const;
export type ExtensionCaFile = (typeof EXTENSION_CA_FILES)[number];

/**
 * The CA that signs the organisation's desktop extensions (created on first use): PEM, or DER
 * (.cer) for Windows' certificate import, Group Policy and Intune. Audited like every rollout file.
 */
export async function downloadExtensionCa(actor: AdminActor, file: ExtensionCaFile): Promise<Artifact> {
  await requireRolloutAdmin(actor, 'rollout.download');
  const pem = await organisationCaPem();
  const artifact: Artifact = file.endsWith('.pem')
    ? { filename: file, contentType: 'application/x-pem-file', body: Buffer.from(pem) }
    : { filename: file, contentType: 'application/pkix-cert', body: new X509Certificate(pem).raw };
  await recordRolloutDownload(actor, artifact);
  return artifact;
}

/** The one-file programs employees' machines run, built by `npm start` into dist/. */
export const CLIENT_PROGRAMS = ['gatehouse-helper', 'gatehouse-sync'] as const;
export type ClientProgram = (typeof CLIENT_PROGRAMS)[number];

export interface ClientBundle {
  name: ClientProgram;
  file: string;
  bytes: number;
  sha256: string;
}

function bundleFile(name: ClientProgram): string {
  return path.join(process.cwd(), 'dist', `${name}.cjs`);
}

/** The file as it is now; the bundler must not trace it (it is built beside the app, not into it). */
function readBundle(file: string): Buffer {
  return readFileSync(/* turbopackIgnore: true */ file);
}

/** The built program with its SHA-256, or null when dist/ does not have it (npm run build:clients). */
export function clientBundle(name: ClientProgram): ClientBundle | null {
  const file = bundleFile(name);
  try {
    const body = readBundle(file);
    return { name, file, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  } catch {
    return null;
  }
}

export async function downloadClientProgram(actor: AdminActor, name: ClientProgram): Promise<Artifact> {
  await requireRolloutAdmin(actor, 'rollout.download');
  const bundle = clientBundle(name);
  if (!bundle) throw new MdmError(`${name} is not built on this server: run npm run build:clients`);
  await recordAdminChange(actor, 'rollout.download', ROLLOUT_TARGET, { file: name, sha256: bundle.sha256 });
  return { filename: name, contentType: 'application/javascript', body: readBundle(bundle.file) };
}
