/**
 * Whose signed document a device applies. One organisation key signs every tenant's and every
 * person's documents (the plugin set, the MCP allowlist), so a valid signature does not say the
 * document is this device's: a channel could hand it another tenant's set, or a more privileged
 * person's. A device pins the tenant and person of the first document it applies and refuses any
 * other's. Pure (no imports), so gatehouse-sync bundles it; used by lib/plugins/agent and
 * lib/mcp/allowlist/verify.ts.
 */

export interface DocumentSubject {
  tenant: string;
  sub: string;
}

/** The tenant and person a signed document names, or null when it names none. */
export function subjectOf(document: { tenant?: unknown; sub?: unknown }): DocumentSubject | null {
  return typeof document.tenant === 'string' && document.tenant && typeof document.sub === 'string' && document.sub ? { tenant: document.tenant, sub: document.sub } : null;
}

/**
 * Why `document` must be refused on a device pinned to `pinned` (nothing pinned yet: only a
 * document that names nobody is refused), or null when it may be applied.
 */
export function subjectRefusal(document: { tenant?: unknown; sub?: unknown }, pinned: DocumentSubject | null | undefined, what: string): string | null {
  const subject = subjectOf(document);
  if (!subject) return `${what} names no organisation and person`;
  if (pinned && (subject.tenant !== pinned.tenant || subject.sub !== pinned.sub)) return `${what} is for another organisation or person than the one this device applies`;
  return null;
}

/**
 * The tenant and person an access token (a JWT) names, read without checking its signature: it
 * is the device's own credential, the one it fetches with, so the server has verified it; the
 * device only uses it to know whose documents it asked for. Null when it is no JWT or names none.
 */
export function tokenSubject(token: string): DocumentSubject | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? subjectOf(claims as { tenant?: unknown; sub?: unknown }) : null;
  } catch {
    return null;
  }
}
