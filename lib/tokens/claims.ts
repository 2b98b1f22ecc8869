import { z } from 'zod';

/**
 * The claims of a Gatehouse access token (RFC 9068 names where they exist). Resource servers get
 * them as a `Principal`; nobody else should parse tokens.
 */
export const accessTokenClaimsSchema = z.object({
  iss: z.string().min(1),
  sub: z.string().min(1),
  aud: z.string().min(1),
  exp: z.number().int(),
  iat: z.number().int(),
  jti: z.string().min(1),
  client_id: z.string().min(1),
  scope: z.string(),
  sid: z.string().min(1),
  email: z.string().min(1),
  tenant: z.string().min(1),
  department: z.string().nullable(),
  roles: z.array(z.string()),
});

export type AccessTokenClaims = z.infer<typeof accessTokenClaimsSchema>;

/** Who is calling, as established by a verified access token. */
export interface Principal {
  userId: string;
  email: string;
  tenantId: string;
  /** Department slug, or null when the user has none. */
  department: string | null;
  /** Role names; a department-scoped binding reads `role@department`. */
  roles: string[];
  /** The sign-in session (revoking it ends every token of the sign-in). */
  sessionId: string;
  clientId: string;
  audience: string;
  scopes: string[];
  tokenId: string;
  issuer: string;
  issuedAt: Date;
  expiresAt: Date;
}

export function principalFromClaims(claims: AccessTokenClaims): Principal {
  return {
    userId: claims.sub,
    email: claims.email,
    tenantId: claims.tenant,
    department: claims.department,
    roles: claims.roles,
    sessionId: claims.sid,
    clientId: claims.client_id,
    audience: claims.aud,
    scopes: claims.scope.split(' ').filter(Boolean),
    tokenId: claims.jti,
    issuer: claims.iss,
    issuedAt: new Date(claims.iat * 1000),
    expiresAt: new Date(claims.exp * 1000),
  };
}
