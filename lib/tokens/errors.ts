/** Why an access token was refused. Resource servers log the reason; clients see the message. */
export const ACCESS_TOKEN_FAILURES = [
  'missing',
  'malformed',
  'bad_signature',
  'unknown_key',
  'expired',
  'wrong_audience',
  'wrong_issuer',
  'revoked',
  'user_disabled',
  'alg_not_allowed',
] as const;

export type AccessTokenFailure = (typeof ACCESS_TOKEN_FAILURES)[number];

const MESSAGES: Record<AccessTokenFailure, string> = {
  missing: 'no access token was sent; sign in to Gatehouse',
  malformed: 'the access token is not a valid Gatehouse token; sign in again',
  bad_signature: 'the access token signature is invalid; sign in again',
  unknown_key: 'the access token was signed by a key Gatehouse does not know; sign in again',
  expired: 'the access token has expired; sign in again',
  wrong_audience: 'the access token was issued for a different service',
  wrong_issuer: 'the access token was issued by a different Gatehouse; sign in again',
  revoked: 'this sign-in has been revoked; sign in again',
  user_disabled: 'this account has been disabled',
  alg_not_allowed: 'the access token uses a signing algorithm Gatehouse does not accept',
};

export class AccessTokenError extends Error {
  override name = 'AccessTokenError';

  constructor(
    readonly reason: AccessTokenFailure,
    message: string = MESSAGES[reason],
  ) {
    super(message);
  }
}
