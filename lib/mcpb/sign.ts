import { createHash } from 'node:crypto';
import { appendAuditEvent } from '@/lib/audit';
import { primaryTenant } from '@/lib/users/tenant';
import type { ChangeActor } from '@/lib/users/users';
import { organisationCaPem, organisationSigner } from './authority';
import { signDetached, type CmsSigner } from './cms';
import { McpbError } from './errors';
import { appendSignatureBlock } from './framing';
import { validateBundle, type ValidatedBundle } from './manifest';
import { verifyBundle, type BundleVerification } from './verify';

export interface SignedBundle extends ValidatedBundle {
  signed: Buffer;
  /** SHA-256 of the zip that was signed and of the signed file, hex. */
  contentSha256: string;
  signedSha256: string;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Validates an unsigned bundle and appends an MCPB signature block made with `signer`. */
export async function signBundle(bundle: Buffer, signer: CmsSigner, signingTime = new Date()): Promise<SignedBundle> {
  const validated = validateBundle(bundle);
  const signed = appendSignatureBlock(bundle, await signDetached(bundle, signer, signingTime));
  return { ...validated, signed, contentSha256: sha256(bundle), signedSha256: sha256(signed) };
}

/**
 * Signs a bundle as the organisation (its code-signing certificate, issued on first use), audited
 * as `mcp_bundle.sign`; a refused bundle is audited too, with every problem found.
 */
export async function signBundleAsOrganisation(bundle: Buffer, actor: ChangeActor, fileName: string): Promise<SignedBundle & { serialNumber: string }> {
  const tenant = await primaryTenant();
  const audit = (outcome: 'success' | 'failure', target: { name: string; id?: string }, attributes: Record<string, string | number>) =>
    appendAuditEvent({
      tenant_id: tenant.id,
      event_type: 'admin.change',
      action: 'mcp_bundle.sign',
      outcome,
      actor: actor.user_id ? { user_id: actor.user_id, email: actor.email, roles: actor.roles ?? [] } : undefined,
      call_source: actor.call_source,
      target: { type: 'mcp_bundle', ...target },
      attributes,
    });
  try {
    const signer = await organisationSigner();
    const result = await signBundle(bundle, signer);
    await audit('success', { name: result.manifest.name, id: result.signedSha256 }, { file: fileName.slice(0, 500), version: result.manifest.version, content_sha256: result.contentSha256, certificate_serial: signer.serialNumber });
    return { ...result, serialNumber: signer.serialNumber };
  } catch (error) {
    if (error instanceof McpbError) await audit('failure', { name: fileName.slice(0, 500) }, { content_sha256: sha256(bundle), error: error.message.slice(0, 4000) });
    throw error;
  }
}

/** Verifies a bundle against the organisation CA. */
export async function verifyBundleAsOrganisation(file: Buffer, at?: Date): Promise<BundleVerification> {
  return verifyBundle(file, { trustedCaPems: [await organisationCaPem()], at });
}
