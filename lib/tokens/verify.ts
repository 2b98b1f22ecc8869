import { compactVerify, decodeProtectedHeader, errors, jwtVerify, type CryptoKey, type ProtectedHeaderParameters } from 'jose';
import { publicUrl } from '@/lib/platform/public-url';
import { accessTokenClaimsSchema, principalFromClaims, type AccessTokenClaims, type Principal } from './claims';
import { ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM } from './config';
import { AccessTokenError } from './errors';
import { revocationView } from './revocation';
import { verificationKey } from './signing-keys';

/**
 * Which audiences a resource server accepts: one value, a list, or every resource on an origin
 * (the userinfo endpoint serves any token the issuer minted for its own resources).
 */
export type AudienceMatcher = string | readonly string[] | { origin: string };

export interface VerifyAccessTokenOptions {
  audience: AudienceMatcher;
  /** What the token's `iss` must equal: the configured public URL unless another is given. */
  issuer?: string;
  /** The time to judge expiry by; defaults to now. */
  now?: Date;
}

// Clock difference tolerated between the process that signed and the one verifying.
const CLOCK_TOLERANCE_SECONDS = 5;

function audienceMatches(audience: string, matcher: AudienceMatcher): boolean {
  if (typeof matcher === 'string') return audience === matcher;
  if ('origin' in matcher && !Array.isArray(matcher)) {
    try {
      return new URL(audience).origin === matcher.origin;
    } catch {
      return false;
    }
  }
  return (matcher as readonly string[]).includes(audience);
}

function readHeader(token: string): ProtectedHeaderParameters {
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw new AccessTokenError('malformed');
  }
}

/** Signature and header checks shared by verification and revocation. */
async function keyFor(token: string): Promise<CryptoKey> {
  if (token.split('.').length !== 3) throw new AccessTokenError('malformed');
  const header = readHeader(token);
  // `none`, HS256 with the public key as secret, RS/PS algorithms: all refused before any key use.
  if (header.alg !== SIGNING_ALGORITHM) throw new AccessTokenError('alg_not_allowed');
  if (header.typ !== ACCESS_TOKEN_TYPE) throw new AccessTokenError('malformed', 'the token is not an access token');
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 200) throw new AccessTokenError('unknown_key');
  const key = await verificationKey(header.kid);
  if (!key) throw new AccessTokenError('unknown_key');
  return key;
}

function mapJoseError(error: unknown): never {
  if (error instanceof AccessTokenError) throw error;
  if (error instanceof errors.JWTExpired) throw new AccessTokenError('expired');
  if (error instanceof errors.JWSSignatureVerificationFailed) throw new AccessTokenError('bad_signature');
  if (error instanceof errors.JOSEAlgNotAllowed) throw new AccessTokenError('alg_not_allowed');
  if (error instanceof errors.JOSEError) throw new AccessTokenError('malformed');
  throw error;
}

function parseClaims(payload: unknown): AccessTokenClaims {
  const parsed = accessTokenClaimsSchema.safeParse(payload);
  if (!parsed.success) throw new AccessTokenError('malformed');
  return parsed.data;
}

/**
 * The one access-token verifier: every resource server (gateway, MCP proxy, userinfo, managed
 * settings) calls this. Checks algorithm, key, signature, expiry, issuer (always: by default the
 * configured public URL, so a token minted for another origin is refused whatever Host a request
 * names), audience, then the revocation view (disabled users, revoked sessions). Throws
 * AccessTokenError with the reason.
 */
export async function verifyAccessToken(token: string | null | undefined, options: VerifyAccessTokenOptions): Promise<Principal> {
  if (!token) throw new AccessTokenError('missing');
  let claims: AccessTokenClaims;
  try {
    const key = await keyFor(token);
    const { payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: options.now,
      requiredClaims: ['exp', 'iat', 'sub', 'aud'],
    });
    claims = parseClaims(payload);
  } catch (error) {
    mapJoseError(error);
  }
  if (claims.iss !== (options.issuer ?? publicUrl())) throw new AccessTokenError('wrong_issuer');
  if (!audienceMatches(claims.aud, options.audience)) throw new AccessTokenError('wrong_audience');
  const view = await revocationView();
  if (view.disabledUsers.has(claims.sub)) throw new AccessTokenError('user_disabled');
  if (view.revokedSessions.has(claims.sid)) throw new AccessTokenError('revoked');
  return principalFromClaims(claims);
}

/**
 * Claims of a token Gatehouse signed, checking only the signature: for revocation (RFC 7009),
 * where an expired or foreign-audience token may still name a session to end.
 */
export async function readSignedAccessToken(token: string): Promise<AccessTokenClaims> {
  try {
    const key = await keyFor(token);
    const { payload } = await compactVerify(token, key, { algorithms: [SIGNING_ALGORITHM] });
    return parseClaims(JSON.parse(new TextDecoder().decode(payload)));
  } catch (error) {
    if (error instanceof SyntaxError) throw new AccessTokenError('malformed');
    mapJoseError(error);
  }
}
