import { MAX_MINTED_TOKEN_TTL_SECONDS } from '@/lib/tokens/config';
import { db } from '@/lib/db/client';
import { UserInputError } from '@/lib/users/tenant';
import { loadUserIdentity } from './identity';
import { gatewayAudience } from './issuer';
import { startSignIn } from './sessions';

export interface MintRequest {
  email: string;
  /** Issuer to stamp; GATEHOUSE_PUBLIC_URL, else http://localhost:$PORT. */
  issuer: string;
  ttlSeconds?: number;
  /** Defaults to the gateway audience `${issuer}/v1`. */
  audience?: string;
}

export interface MintedToken {
  accessToken: string;
  expiresIn: number;
  sessionId: string;
}

/**
 * An access token for a user without any browser flow, for operators (`gatehouse token mint`):
 * load tests, scripted checks. It belongs to a session of its own, so revoking the user (or the
 * session) stops it like any other.
 */
export async function mintAccessToken(request: MintRequest): Promise<MintedToken> {
  const ttl = request.ttlSeconds ?? 900;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_MINTED_TOKEN_TTL_SECONDS) throw new UserInputError(`--ttl must be 1-${MAX_MINTED_TOKEN_TTL_SECONDS} seconds`);
  const user = await db().user.findUnique({ where: { email: request.email.trim().toLowerCase() }, select: { id: true } });
  const identity = user ? await loadUserIdentity(user.id) : null;
  if (!identity) throw new UserInputError(`no user with email ${request.email}`);
  if (identity.status !== 'active') throw new UserInputError(`${identity.email} is disabled`);
  const audience = request.audience ?? gatewayAudience(request.issuer);
  try {
    new URL(audience);
  } catch {
    throw new UserInputError('--aud must be an absolute URL');
  }
  const { body, sessionId } = await startSignIn({
    issuer: request.issuer,
    identity,
    client: null,
    grantType: 'cli',
    scope: '',
    audience,
    authTime: new Date(),
    issueRefreshToken: false,
    accessTokenTtlSeconds: ttl,
  });
  return { accessToken: body.access_token, expiresIn: body.expires_in, sessionId };
}
