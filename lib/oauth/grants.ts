/** Grant types Gatehouse implements. */
export const AUTHORIZATION_CODE_GRANT = 'authorization_code';
export const REFRESH_TOKEN_GRANT = 'refresh_token';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export const SUPPORTED_GRANT_TYPES = [AUTHORIZATION_CODE_GRANT, REFRESH_TOKEN_GRANT, DEVICE_CODE_GRANT] as const;
export type GrantType = (typeof SUPPORTED_GRANT_TYPES)[number];

export function isSupportedGrantType(value: string): value is GrantType {
  return (SUPPORTED_GRANT_TYPES as readonly string[]).includes(value);
}

/**
 * The `client_id` claim of tokens issued without a registered client: Claude Code's device flow
 * sends none, and `gatehouse token mint` is the CLI itself.
 */
export const UNREGISTERED_DEVICE_CLIENT_ID = 'device';
export const CLI_CLIENT_ID = 'gatehouse-cli';
