import type { SsoProviderConfig } from '@/lib/config/schema/sso';

/** What Gatehouse takes from an upstream id_token, by the claim names the provider configures. */
export interface SsoIdentity {
  /** The id_token's `iss` (openid-client checked it against discovery), without a trailing slash. */
  issuer: string;
  /** The IdP's `sub`: with the issuer, what binds the IdP account to a Gatehouse user. */
  subject: string;
  /** Lower-cased; null when the IdP sent none. */
  email: string | null;
  /** True only when the IdP says so (`email_verified: true`); absent counts as unverified. */
  emailVerified: boolean;
  name: string | null;
  departmentValue: string | null;
  groups: string[];
}

type Claims = Record<string, unknown>;

function firstString(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() || null;
  if (Array.isArray(value)) return value.map(firstString).find((item) => item !== null) ?? null;
  return null;
}

/** Groups arrive as an array (Okta, Entra, Keycloak), sometimes as one string, or not at all. */
function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.trim() ? [value.trim()] : [];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === 'string' && item.trim() !== '').map((item) => item.trim());
}

/** Claim names may be paths into nested claims (`realm_access.roles` in Keycloak). */
function claimAt(claims: Claims, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let current: unknown = claims;
  for (const part of name.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Claims)[part];
  }
  return current;
}

/** Issuers compared without trailing slashes (some IdPs put one in `iss`, gatehouse.yaml never does). */
export function normalizeIssuer(issuer: string): string {
  return issuer.trim().replace(/\/+$/, '');
}

export function readSsoIdentity(provider: SsoProviderConfig, claims: Claims): SsoIdentity {
  const email = firstString(claimAt(claims, provider.claims.email));
  const verified = claims.email_verified;
  return {
    issuer: normalizeIssuer(typeof claims.iss === 'string' ? claims.iss : provider.issuer),
    subject: firstString(claims.sub) ?? '',
    email: email ? email.toLowerCase() : null,
    // Some IdPs send the boolean as a string; nothing else counts.
    emailVerified: verified === true || verified === 'true',
    name: firstString(claimAt(claims, provider.claims.name)),
    departmentValue: firstString(claimAt(claims, provider.claims.department)),
    groups: [...new Set(stringList(claimAt(claims, provider.claims.groups)))],
  };
}
