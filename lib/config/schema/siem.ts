import { z } from 'zod';
import { AUDIT_EVENT_TYPES } from '@/lib/audit/event';

export const SIEM_SINK_TYPES = ['splunk_hec', 'elastic', 'datadog', 'sumo', 'webhook', 'otlp_logs'] as const;
export type SiemSinkType = (typeof SIEM_SINK_TYPES)[number];

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an environment variable name like SPLUNK_HEC_TOKEN' });

/** Dotted paths into the event (`actor.email`, `origin.ip`, `attributes.prompt_preview`). */
const fieldPath = z.string().regex(/^[a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_:-]+)*$/, { error: 'must be a dotted field path like actor.email' });

export const siemSinkId = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, { error: 'must be 1-64 of lower-case letters, digits, _ . - (starting with a letter or digit)' });

/**
 * Everything about a sink except where its secret comes from; shared by gatehouse.yaml and the
 * dashboard (which seals the secret in the database instead of naming a variable).
 */
export const siemSinkFields = {
  id: siemSinkId,
  type: z.enum(SIEM_SINK_TYPES),
  url: z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? undefined : 'must be an http(s) URL') }).optional(),
  // Which events go: none given means all. Checkpoints always go unless `checkpoints: false`.
  filter: z
    .strictObject({
      event_types: z.array(z.enum(AUDIT_EVENT_TYPES)).min(1).optional(),
      departments: z.array(z.string().trim().min(1)).min(1).optional(),
    })
    .prefault({}),
  // Removed from every event before it leaves (the SIEM can then no longer re-check its hash).
  redact: z.array(fieldPath).max(100).default([]),
  checkpoints: z.boolean().default(true),
  // Elastic: the data stream or index; Splunk: the HEC index (the token's default when absent).
  index: z.string().trim().min(1).max(255).optional(),
  // Splunk sourcetype, Sumo category, Datadog/OTLP service name overrides.
  source: z.string().trim().min(1).max(200).optional(),
  // Compress request bodies (default: on for every type but webhook).
  gzip: z.boolean().optional(),
  // Per request: most events and most uncompressed bytes (defaults: each vendor's documented limits).
  max_batch_events: z.int().min(1).max(10_000).optional(),
  max_batch_bytes: z.int().min(1_024).max(50 * 1024 * 1024).optional(),
  timeout_ms: z.int().min(100).max(120_000).default(10_000),
  // Attempts per batch before it becomes a dead letter; backoff doubles from base_delay_ms with jitter.
  max_attempts: z.int().min(1).max(100).default(8),
  base_delay_ms: z.int().min(1).max(600_000).default(2_000),
  max_delay_ms: z.int().min(1).max(3_600_000).default(300_000),
  // Extra request headers (routing hints, a custom auth header name); not for the secret itself.
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, { error: 'must be an HTTP header name' }), z.string()).default({}),
  // Start from the beginning of the audit trail instead of from when the sink is first seen.
  backfill: z.boolean().default(false),
};

function requireUrl(ctx: z.core.ParsePayload<{ url?: string | undefined; url_env?: string | undefined }>): void {
  if (ctx.value.url === undefined && ctx.value.url_env === undefined) {
    ctx.issues.push({ code: 'custom', input: ctx.value, path: ['url'], message: 'a sink needs url (or url_env, for a URL that is itself the secret, as with Sumo Logic)' });
  }
}

const configSink = z
  .strictObject({
    ...siemSinkFields,
    // The token never lives in this file: only the name of the variable that holds it.
    token_env: envName.optional(),
    // For URLs that carry the secret (Sumo Logic HTTP sources, signed webhooks).
    url_env: envName.optional(),
  })
  .check(requireUrl);

export const siemSection = z
  .strictObject({
    sinks: z.array(configSink).max(50).default([]),
  })
  .prefault({})
  .check((ctx) => {
    const seen = new Set<string>();
    ctx.value.sinks.forEach((sink, index) => {
      if (seen.has(sink.id)) ctx.issues.push({ code: 'custom', input: sink.id, path: ['sinks', index, 'id'], message: `sink id "${sink.id}" is used twice` });
      seen.add(sink.id);
    });
  });

export type SiemConfig = z.output<typeof siemSection>;
export type SiemConfigSink = SiemConfig['sinks'][number];
