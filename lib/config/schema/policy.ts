import { z } from 'zod';

const pattern = z.string().min(1).check((ctx) => {
  try {
    new RegExp(ctx.value, 'u');
  } catch (error) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `not a valid regular expression (${(error as Error).message})` });
  }
});

export const policySection = z
  .strictObject({
    blocklist: z
      .strictObject({
        // Matched case-insensitively as whole words.
        terms: z.array(z.string().trim().min(1)).default([]),
        // JavaScript regular expressions (Unicode mode).
        patterns: z.array(pattern).default([]),
      })
      .prefault({}),
    secrets: z
      .strictObject({
        // Redacting keeps people working while still keeping credentials away from providers.
        mode: z.enum(['block', 'redact']).default('redact'),
      })
      .prefault({}),
  })
  .prefault({});

export type PolicyConfig = z.infer<typeof policySection>;
