import { z } from 'zod';
import { tokenSettings } from '@/lib/tokens/config';

/** Authorization codes are exchanged immediately by real clients; a minute is plenty. */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60;
/** RFC 8628 device grant: how long the user has to approve, and the polling interval. */
export const DEVICE_CODE_TTL_SECONDS = 600;
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: a client polling too fast has its interval raised by this much. */
export const DEVICE_SLOW_DOWN_STEP_SECONDS = 5;
export const ID_TOKEN_TTL_SECONDS = 5 * 60;

const csv = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean));

const oauthEnvSchema = z.object({
  // Each refresh token lives this long unused; every refresh replaces it.
  GATEHOUSE_REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(300).max(365 * 86_400).default(30 * 86_400),
  // A sign-in ends after this long however often it is refreshed; then the browser flow again.
  GATEHOUSE_SESSION_MAX_AGE_SECONDS: z.coerce.number().int().min(300).max(365 * 86_400).default(90 * 86_400),
  // Dynamic registration: custom redirect URI schemes (e.g. "cursor,vscode") are refused unless listed.
  GATEHOUSE_OAUTH_REDIRECT_SCHEMES: csv.default([]),
  GATEHOUSE_DCR_MAX_PER_IP_PER_HOUR: z.coerce.number().int().min(0).max(100_000).default(20),
  // RFC 8628 §5.1: code entry attempts per IP per minute on the verification page.
  GATEHOUSE_DEVICE_CODE_ENTRY_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(10),
  GATEHOUSE_DEVICE_AUTHORIZATIONS_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
  // Client ID Metadata Documents Gatehouse fetches (not cached yet, or expired) per address per minute.
  GATEHOUSE_CLIENT_METADATA_FETCHES_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(10),
});

export interface OAuthSettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  sessionMaxAgeSeconds: number;
  customRedirectSchemes: readonly string[];
  registrationsPerIpPerHour: number;
  deviceCodeEntriesPerIpPerMinute: number;
  deviceAuthorizationsPerIpPerMinute: number;
  clientMetadataFetchesPerIpPerMinute: number;
}

/** OAuth knobs from the environment (read per call: cheap, and tests can change them). */
export function oauthSettings(source: Record<string, string | undefined> = process.env): OAuthSettings {
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = oauthEnvSchema.safeParse(present);
  if (!result.success) {
    throw new Error(`invalid OAuth settings: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const env = result.data;
  return {
    accessTokenTtlSeconds: tokenSettings(source).GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: env.GATEHOUSE_REFRESH_TOKEN_TTL_SECONDS,
    sessionMaxAgeSeconds: env.GATEHOUSE_SESSION_MAX_AGE_SECONDS,
    customRedirectSchemes: env.GATEHOUSE_OAUTH_REDIRECT_SCHEMES,
    registrationsPerIpPerHour: env.GATEHOUSE_DCR_MAX_PER_IP_PER_HOUR,
    deviceCodeEntriesPerIpPerMinute: env.GATEHOUSE_DEVICE_CODE_ENTRY_PER_IP_PER_MINUTE,
    deviceAuthorizationsPerIpPerMinute: env.GATEHOUSE_DEVICE_AUTHORIZATIONS_PER_IP_PER_MINUTE,
    clientMetadataFetchesPerIpPerMinute: env.GATEHOUSE_CLIENT_METADATA_FETCHES_PER_IP_PER_MINUTE,
  };
}
