import { z } from 'zod';

export const PROVIDER_TYPES = ['anthropic', 'openai', 'bedrock', 'vertex', 'gemini', 'foundry', 'azure', 'groq', 'openai_compatible'] as const;

/**
 * What happens to an image given by URL (`source.type: url`) on the way to this provider:
 * `fetch` — Gatehouse fetches it itself (public addresses only) and sends the bytes;
 * `refuse` — the request is refused (400); `forward` — the URL goes on, for the provider to fetch.
 */
export const REMOTE_IMAGE_MODES = ['fetch', 'refuse', 'forward'] as const;

/** Names are referenced from models and routes, so keep them simple to type and to grep. */
export const providerName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/i, {
  error: 'must start with a letter or digit and use only letters, digits, _ . -',
});

const provider = z.strictObject({
  type: z.enum(PROVIDER_TYPES),
  // Optional only for the cloud types, whose public endpoint follows from region (and project):
  // set it for VPC endpoints, Private Service Connect, proxies and tests.
  base_url: z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? undefined : 'must be an http(s) URL') }).optional(),
  // The key itself never lives in this file: only the name of the variable that holds it.
  api_key_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an environment variable name like ANTHROPIC_API_KEY' })
    .optional(),
  // How long to wait for the upstream's response headers (streaming requests and count_tokens: a
  // streaming upstream sends them at once). Past it the upstream counts as hung: retried, then failed over.
  timeout_ms: z.int().min(100).max(600_000).default(60_000),
  // The same deadline for a non-streaming request, whose headers come only once the whole answer
  // is written: long answers take minutes. Never shorter than timeout_ms.
  non_streaming_timeout_ms: z.int().min(100).max(3_600_000).default(600_000),
  // Once the headers are in (2xx): the longest silence in the body before the answer is ended with
  // an error (never retried: the upstream may already have billed it). Defaults to timeout_ms.
  // An answer that keeps sending is read to the end however long it takes.
  idle_timeout_ms: z.int().min(100).max(600_000).optional(),
  // Retries on the same target (connect errors, timeouts, 429, 5xx) before failing over to the next.
  max_retries: z.int().min(0).max(10).default(2),
  // Send x-gatehouse-user / x-gatehouse-session / x-trace-id upstream: only for upstreams the company
  // runs itself, since these identify people.
  forward_attribution: z.boolean().default(false),
  // Extra request headers for this upstream (e.g. a routing hint for an internal proxy). Not for
  // credentials: those belong in the environment variable named by api_key_env.
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, { error: 'must be an HTTP header name' }), z.string()).default({}),
  // Default: forward for anthropic (Anthropic fetches from its own network), fetch for every
  // other type, since a model server inside the company network would fetch from inside it.
  remote_images: z.enum(REMOTE_IMAGE_MODES).optional(),
  // Azure OpenAI only: the api-version query parameter of the deployment URL (`v1`: Azure's v1 API).
  api_version: z.string().trim().min(1).optional(),
  // bedrock and vertex: the cloud region (SigV4 scope, Vertex location); `global`, `us` and `eu` work on Vertex.
  region: z.string().regex(/^[a-z0-9-]+$/, { error: 'must be a region name like us-east-1 or europe-west1' }).optional(),
  // vertex: the Google Cloud project id the models are enabled in.
  project: z.string().regex(/^[a-z0-9][a-z0-9-]{3,61}[a-z0-9]$/, { error: 'must be a Google Cloud project id' }).optional(),
});

type ProviderInput = z.output<typeof provider>;

/** The public endpoint of a cloud provider, when base_url is not set. */
function defaultBaseUrl(config: ProviderInput): string | undefined {
  if (config.type === 'bedrock' && config.region) return `https://bedrock-runtime.${config.region}.amazonaws.com`;
  if (config.type === 'vertex' && config.region) {
    if (config.region === 'global') return 'https://aiplatform.googleapis.com';
    if (config.region === 'us' || config.region === 'eu') return `https://aiplatform.${config.region}.rep.googleapis.com`;
    return `https://${config.region}-aiplatform.googleapis.com`;
  }
  if (config.type === 'gemini') return 'https://generativelanguage.googleapis.com';
  return undefined;
}

const providerWithEndpoint = provider
  .superRefine((config, ctx) => {
    if ((config.type === 'bedrock' || config.type === 'vertex') && !config.region) {
      ctx.addIssue({ code: 'custom', path: ['region'], message: `required for type ${config.type}` });
    }
    if (config.type === 'vertex' && !config.project) ctx.addIssue({ code: 'custom', path: ['project'], message: 'required for type vertex' });
    if (config.base_url === undefined && defaultBaseUrl(config) === undefined && config.type !== 'bedrock' && config.type !== 'vertex') {
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'required' });
    }
  })
  .transform((config) => ({ ...config, base_url: config.base_url ?? defaultBaseUrl(config) ?? '' }));

export const providersSection = z.record(providerName, providerWithEndpoint).default({});

export type ProviderType = (typeof PROVIDER_TYPES)[number];
export type RemoteImageMode = (typeof REMOTE_IMAGE_MODES)[number];
export type ProviderConfig = z.output<typeof providerWithEndpoint>;
