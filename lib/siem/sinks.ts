import { z } from 'zod';
import type { GatehouseConfig, SiemConfigSink, SiemSinkType } from '@/lib/config';
import { siemSinkFields } from '@/lib/config/schema/siem';
import { openSealedSecret, sealSecret } from '@/lib/platform/seal';
import { installationSecret } from '@/lib/tokens/secret';

/** A sink ready to send to: its secret read (environment or sealed column) and its limits set. */
export interface ResolvedSink {
  id: string;
  name: string;
  type: SiemSinkType;
  url: string;
  secret: string | undefined;
  index: string | undefined;
  source: string | undefined;
  filter: { event_types?: string[] | undefined; departments?: string[] | undefined };
  redact: string[];
  checkpoints: boolean;
  gzip: boolean | undefined;
  maxEvents: number | undefined;
  maxBytes: number | undefined;
  timeoutMs: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  headers: Record<string, string>;
}

/** A sink that cannot be used as defined (a variable it names is not set, a secret that will not open). */
export class SinkUnusableError extends Error {
  override name = 'SinkUnusableError';
}

/** The definition a dashboard sink stores (the secret is sealed apart). */
export const dashboardSinkSchema = z.strictObject({
  ...siemSinkFields,
  url: z.url({ protocol: /^https?$/ }).optional(),
  // Scheme, host and port only, for display: the full URL is sealed (a Sumo Logic URL is the secret).
  destination: z.string().max(300).optional(),
});
export type DashboardSinkDefinition = z.output<typeof dashboardSinkSchema>;

interface SealedParts {
  url: string;
  token?: string | undefined;
}

const SEAL_PURPOSE = 'siem-sinks';

export async function sealSinkSecret(sinkId: string, parts: SealedParts): Promise<string> {
  return sealSecret(JSON.stringify(parts), await installationSecret(), SEAL_PURPOSE, sinkId);
}

async function openSinkSecret(sinkId: string, sealed: string): Promise<SealedParts> {
  try {
    return JSON.parse(openSealedSecret(sealed, await installationSecret(), SEAL_PURPOSE, sinkId)) as SealedParts;
  } catch (error) {
    throw new SinkUnusableError(`its stored secret ${error instanceof Error ? error.message : String(error)}`);
  }
}

type Definition = Omit<DashboardSinkDefinition, 'url'>;

function resolved(id: string, definition: Definition, url: string, secret: string | undefined): ResolvedSink {
  return {
    id,
    name: definition.id,
    type: definition.type,
    url,
    secret,
    index: definition.index,
    source: definition.source,
    filter: definition.filter,
    redact: definition.redact,
    checkpoints: definition.checkpoints,
    gzip: definition.gzip,
    maxEvents: definition.max_batch_events,
    maxBytes: definition.max_batch_bytes,
    timeoutMs: definition.timeout_ms,
    maxAttempts: definition.max_attempts,
    baseDelayMs: definition.base_delay_ms,
    maxDelayMs: definition.max_delay_ms,
    headers: definition.headers,
  };
}

function fromEnvironment(sink: SiemConfigSink, name: string | undefined, what: string, env: Record<string, string | undefined>): string | undefined {
  if (!name) return undefined;
  const value = env[name];
  if (!value) throw new SinkUnusableError(`${what} variable ${name} is not set`);
  return value;
}

export interface SinkRowForResolve {
  id: string;
  name: string;
  origin: string;
  definition: unknown;
  sealed_secret: string | null;
}

/**
 * The sink a row stands for: config sinks from gatehouse.yaml as it is now (their secret from the
 * environment), dashboard sinks from the row (their secret unsealed). Null: the config no longer has it.
 */
export async function resolveSink(row: SinkRowForResolve, config: GatehouseConfig, env: Record<string, string | undefined> = process.env): Promise<ResolvedSink | null> {
  if (row.origin === 'config') {
    const sink = config.siem.sinks.find((candidate) => candidate.id === row.name);
    if (!sink) return null;
    const url = sink.url ?? fromEnvironment(sink, sink.url_env, 'the URL', env)!;
    return resolved(row.id, sink, url, fromEnvironment(sink, sink.token_env, 'the token', env));
  }
  const definition = dashboardSinkSchema.safeParse(row.definition);
  if (!definition.success) throw new SinkUnusableError('its stored definition is not valid');
  if (!row.sealed_secret) throw new SinkUnusableError('it has no stored URL');
  const parts = await openSinkSecret(row.id, row.sealed_secret);
  return resolved(row.id, definition.data, parts.url, parts.token);
}
