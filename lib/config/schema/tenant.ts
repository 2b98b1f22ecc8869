import { z } from 'zod';

/** The organisation this installation governs; bootstrap creates the tenant row from it. */
export const tenantSection = z
  .strictObject({
    name: z.string().trim().min(1).default('Default'),
    slug: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'must be lowercase letters, digits and dashes' })
      .default('default'),
  })
  .prefault({});

export type TenantConfig = z.infer<typeof tenantSection>;
