import { z } from 'zod';

export const auditSection = z
  .strictObject({
    // Prompts and completions are personal data: keep them only as long as investigations need.
    content_retention_days: z.int().min(1).max(3650).default(30),
    // Monthly partitions created ahead of time, so inserts never land in the default partition.
    partitions_ahead: z.int().min(0).max(24).default(2),
  })
  .prefault({});

export type AuditConfig = z.infer<typeof auditSection>;
