import { z } from 'zod';
import { providerName } from './providers';

/** A concrete upstream: which provider, and that provider's own name for the model. */
export const modelTarget = z.strictObject({
  provider: providerName,
  model: z.string().trim().min(1),
  // Bedrock only: which API serves the model. Left out, the model id decides (`anthropic.` or
  // `claude` → InvokeModel, else Converse); an application inference profile ARN names no model,
  // so a Claude one needs `api: invoke`.
  api: z.enum(['invoke', 'converse']).optional(),
});

// Microdollars per million tokens (dollars per MTok × 1e6), which is the same number as
// picodollars per token: the price book's unit, so no conversion is ever rounded.
const microdollarsPerMillionTokens = z.int().min(0).max(1_000_000_000_000);

/**
 * Overrides the pinned public price data for this model id (lib/gateway/pricing). Cache rates
 * left out are taken from the public data for the same model when it has them, else they
 * default to the input rate.
 */
export const modelPrice = z.strictObject({
  input_per_mtok_microdollars: microdollarsPerMillionTokens,
  output_per_mtok_microdollars: microdollarsPerMillionTokens,
  // Prompt-cache writes (5-minute cache) and reads.
  cache_write_per_mtok_microdollars: microdollarsPerMillionTokens.optional(),
  cache_read_per_mtok_microdollars: microdollarsPerMillionTokens.optional(),
  // Anthropic's web search server tool, microdollars per thousand searches ($10 per thousand is
  // 10000000); left out, the public fee for the same model, else none.
  web_search_per_thousand_microdollars: z.int().min(0).max(1_000_000_000_000).optional(),
});

const model = z.strictObject({
  // Tried in order: the first target is primary, later ones are fallbacks.
  targets: z.array(modelTarget).min(1),
  price: modelPrice.optional(),
});

export const modelId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,127}$/, {
  error: 'must be a model id without spaces, e.g. claude-sonnet-4-5',
});

export const modelsSection = z.record(modelId, model).default({});

export type ModelTarget = z.infer<typeof modelTarget>;
export type ModelConfig = z.infer<typeof model>;
export type ModelPriceConfig = z.infer<typeof modelPrice>;
