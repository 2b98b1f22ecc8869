import { z } from 'zod';

export const PROVIDER_TYPES = ['anthropic', 'openai', 'bedrock', 'vertex', 'gemini', 'azure', 'groq', 'openai_compatible'] as const;

/** Names are referenced from models and routes, so keep them simple to type and to grep. */
export const providerName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/i, {
  error: 'must start with a letter or digit and use only letters, digits, _ . -',
});

const provider = z.strictObject({
  type: z.enum(PROVIDER_TYPES),
  base_url: z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? undefined : 'must be an http(s) URL') }),
  // The key itself never lives in this file: only the name of the variable that holds it.
  api_key_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an environment variable name like ANTHROPIC_API_KEY' })
    .optional(),
});

export const providersSection = z.record(providerName, provider).default({});

export type ProviderType = (typeof PROVIDER_TYPES)[number];
export type ProviderConfig = z.infer<typeof provider>;
