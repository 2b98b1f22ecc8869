import { db } from '@/lib/db/client';
import type { McpbCertificate, McpbCertificateKind } from '@/lib/generated/prisma/client';

// Every query of the MCPB signing certificates. Installation-wide, like the organisation key.

export type CertificateRow = McpbCertificate;

const ISSUE_LOCK = 'gatehouse.mcpb-certificates';

export function activeCertificate(kind: McpbCertificateKind): Promise<CertificateRow | null> {
  return db().mcpbCertificate.findFirst({ where: { kind, status: 'active' } });
}

export function certificatesOfKind(kind: McpbCertificateKind): Promise<CertificateRow[]> {
  return db().mcpbCertificate.findMany({ where: { kind }, orderBy: { createdAt: 'desc' } });
}

export type NewCertificate = Omit<CertificateRow, 'status' | 'createdAt' | 'retiredAt'>;

/**
 * Stores `next` as the active certificate of its kind, retiring the one active now, unless
 * `stillWanted` (asked under the lock) says another process already did what was needed: then the
 * row it finds is returned and `next` is dropped. Concurrent first uses agree on one CA.
 */
export async function replaceActive(next: NewCertificate, stillWanted: (current: CertificateRow | null) => boolean): Promise<CertificateRow> {
  return db().$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${ISSUE_LOCK}))`;
    const current = await tx.mcpbCertificate.findFirst({ where: { kind: next.kind, status: 'active' } });
    if (current && !stillWanted(current)) return current;
    if (current) await tx.mcpbCertificate.update({ where: { id: current.id }, data: { status: 'retired', retiredAt: new Date() } });
    return tx.mcpbCertificate.create({ data: next });
  });
}
