// The access-token toolkit every resource server uses. Signing lives here too because the same
// keys verify; protocol endpoints that mint tokens are in lib/oauth.
export { accessTokenClaimsSchema, type AccessTokenClaims, type Principal } from './claims';
export { ACCESS_TOKEN_FAILURES, AccessTokenError, type AccessTokenFailure } from './errors';
export { verifyAccessToken, readSignedAccessToken, type AudienceMatcher, type VerifyAccessTokenOptions } from './verify';
export { signAccessToken, type AccessTokenRequest, type SignedAccessToken, type TokenSubject } from './sign';
export {
  anthropicAuthenticationError,
  authenticateBearer,
  bearerChallenge,
  bearerChallengeResponse,
  bearerToken,
  type BearerChallengeOptions,
} from './responses';
export { invalidateRevocationCache, revocationView, setRevocationCacheTtl } from './revocation';
export { activeSigningKey, clearSigningKeyCache, listSigningKeys, publishedJwks, rotateSigningKey, verificationKey, type SigningKeySummary } from './signing-keys';
export { tokenSettings, SIGNING_ALGORITHM, MAX_ACCESS_TOKEN_TTL_SECONDS, MAX_MINTED_TOKEN_TTL_SECONDS } from './config';
