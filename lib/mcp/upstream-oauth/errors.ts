/**
 * Upstream OAuth's one error type: connecting to, or acting at, a registered server's
 * authorization server failed. `message` is for the person (never holds a token); `reason` is a
 * short code for the audit trail.
 */
export class UpstreamOAuthError extends Error {
  override name = 'UpstreamOAuthError';

  constructor(
    message: string,
    readonly reason: string,
    /** How the audit trail records it: refused by policy (denied), or the other side could not be reached (failure). */
    readonly outcome: 'denied' | 'failure' = 'denied',
  ) {
    super(message);
  }
}

/**
 * The person has no usable grant for the server (never connected, disconnected, revoked, or the
 * refresh failed): they must connect their account at `connectUrl`.
 */
export class UpstreamGrantRequired extends Error {
  override name = 'UpstreamGrantRequired';

  constructor(
    readonly serverName: string,
    readonly connectUrl: string,
    readonly reason: 'no_grant' | 'refresh_failed' | 'rejected',
  ) {
    super(
      reason === 'no_grant'
        ? `"${serverName}" acts on your behalf at its provider: connect your account at ${connectUrl} first`
        : `your connection to "${serverName}" is no longer accepted by its provider: connect your account again at ${connectUrl}`,
    );
  }
}
