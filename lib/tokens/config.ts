import { z } from 'zod';

/** Access tokens and id_tokens are ES256 JWTs; nothing else is ever accepted. */
export const SIGNING_ALGORITHM = 'ES256';

/** RFC 9068 media type of an access token, so an id_token can never pass as one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

/** `gatehouse token mint` may ask for longer-lived tokens (load tests, scripted checks). */
export const MAX_MINTED_TOKEN_TTL_SECONDS = 24 * 60 * 60;

/**
 * How long a retired key keeps verifying: the longest token it can have signed, plus the time
 * another process may keep signing with a cached copy after a rotation, plus slack for clocks.
 */
export const RETIRED_KEY_VERIFY_SECONDS = MAX_MINTED_TOKEN_TTL_SECONDS + 15 * 60;

/**
 * The longest a process's revocation view (disabled users, revoked sessions) may go without a read
 * confirming it before a token check waits for the database: the worst case for a revocation
 * elsewhere to take effect here.
 */
export const MAX_REVOCATION_CACHE_MS = 5_000;

const tokenEnvSchema = z.object({
  GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(MAX_ACCESS_TOKEN_TTL_SECONDS).default(DEFAULT_ACCESS_TOKEN_TTL_SECONDS),
  GATEHOUSE_REVOCATION_CACHE_MS: z.coerce.number().int().min(0).max(MAX_REVOCATION_CACHE_MS).default(MAX_REVOCATION_CACHE_MS),
});

export type TokenSettings = z.infer<typeof tokenEnvSchema>;

/** Token knobs from the environment; a bad value fails loudly instead of silently defaulting. */
export function tokenSettings(source: Record<string, string | undefined> = process.env): TokenSettings {
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = tokenEnvSchema.safeParse(present);
  if (result.success) return result.data;
  throw new Error(`invalid token settings: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
}
