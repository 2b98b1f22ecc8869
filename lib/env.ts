import { z } from 'zod';

/**
 * Environment variables Gatehouse reads. Everything is checked once at start so an operator sees
 * every problem in one go, each as `NAME: what is wrong`, instead of a crash deep in a request.
 */

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function urlWithProtocols(protocols: readonly string[], example: string) {
  const allowed = new Set(protocols.map((p) => `${p}:`));
  return z.string().refine(
    (value) => {
      try {
        return allowed.has(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL like ${example}` },
  );
}

function integer(min: number, max: number) {
  return z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be between ${min} and ${max}` })
    .max(max, { error: `must be between ${min} and ${max}` });
}

const envSchema = z.object({
  DATABASE_URL: urlWithProtocols(['postgres', 'postgresql'], 'postgres://user:password@host:5432/gatehouse').optional(),
  REDIS_URL: urlWithProtocols(['redis', 'rediss'], 'redis://host:6379').optional(),
  PORT: integer(1, 65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  // Web processes `npm start` runs on the one port (lib/platform/supervisor.ts: every core with
  // REDIS_URL, else one).
  WEB_CONCURRENCY: integer(1, 256).optional(),
  GATEHOUSE_DATA_DIR: z.string().default('.data'),
  GATEHOUSE_CONFIG: z.string().default('./gatehouse.yaml'),
  GATEHOUSE_ADMIN_EMAIL: z.email({ error: 'must be an email address' }).optional(),
  GATEHOUSE_ADMIN_PASSWORD: z.string().min(12, { error: 'must be at least 12 characters' }).optional(),
  // Encrypts stored provider keys and signs sessions, so it needs real entropy.
  GATEHOUSE_SECRET: z.string().min(32, { error: 'must be at least 32 characters (try: openssl rand -base64 32)' }).optional(),
  GATEHOUSE_PUBLIC_URL: urlWithProtocols(['http', 'https'], 'https://gatehouse.example.com').optional(),
  GATEHOUSE_DB_POOL_SIZE: integer(1, 1000).optional(),
  // The role that owns the schema and runs migrations; never handed to the web or worker process.
  GATEHOUSE_MIGRATION_DATABASE_URL: urlWithProtocols(['postgres', 'postgresql'], 'postgres://gatehouse_owner:password@host:5432/gatehouse').optional(),
  GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE: z.enum(['0', '1', 'true', 'false', 'yes', 'no'], { error: 'must be 1 or 0' }).optional(),
  GATEHOUSE_DB_CONNECT_TIMEOUT_MS: integer(1, 600_000).optional(),
  GATEHOUSE_DB_STATEMENT_TIMEOUT_MS: integer(1, 86_400_000).optional(),
  GATEHOUSE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: integer(1, 86_400_000).optional(),
  // The audit checkpoint signing key (PEM or base64 PKCS#8), or a file holding it; read by lib/audit/checkpoint-keys.ts.
  GATEHOUSE_CHECKPOINT_KEY: z.string().optional(),
  GATEHOUSE_CHECKPOINT_KEY_FILE: z.string().optional(),
  GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE: z.string().optional(),
  GATEHOUSE_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

export type Env = z.infer<typeof envSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class EnvError extends Error {
  readonly issues: string[];

  constructor(issues: string[]) {
    super(`invalid environment:\n${issues.map((issue) => `  ${issue}`).join('\n')}`);
    this.name = 'EnvError';
    this.issues = issues;
  }
}

type EnvSource = Record<string, string | undefined>;

/** Compose files and shells often export `VAR=` for "unset"; treat that as absent, not invalid. */
function withoutEmptyValues(source: EnvSource): EnvSource {
  return Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
}

export function loadEnv(source: EnvSource = process.env): Env {
  const result = envSchema.safeParse(withoutEmptyValues(source));
  if (result.success) return result.data;
  throw new EnvError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
}
