import { z } from 'zod';
import { providerName } from './providers';

/** A concrete upstream: which provider, and that provider's own name for the model. */
export const modelTarget = z.strictObject({
  provider: providerName,
  model: z.string().trim().min(1),
});

const microdollarsPerMillionTokens = z.int().min(0);

const model = z.strictObject({
  // Tried in order: the first target is primary, later ones are fallbacks.
  targets: z.array(modelTarget).min(1),
  price: z
    .strictObject({
      input_per_mtok_microdollars: microdollarsPerMillionTokens,
      output_per_mtok_microdollars: microdollarsPerMillionTokens,
    })
    .optional(),
});

export const modelId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,127}$/, {
  error: 'must be a model id without spaces, e.g. claude-sonnet-4-5',
});

export const modelsSection = z.record(modelId, model).default({});

export type ModelTarget = z.infer<typeof modelTarget>;
export type ModelConfig = z.infer<typeof model>;
