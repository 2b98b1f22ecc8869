import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * Every queue Gatehouse uses, with the payload its jobs carry and how they are retried. Producers
 * (the web app, the CLI) and consumers (workers/main.ts) both go through lib/queue, which checks
 * payloads against these schemas on the way in and on the way out.
 */
export interface QueueDefinition<Schema extends z.ZodType> {
  description: string;
  schema: Schema;
  defaultJobOptions: JobsOptions;
}

function defineQueue<Schema extends z.ZodType>(definition: QueueDefinition<Schema>): QueueDefinition<Schema> {
  return definition;
}

export const housekeepingPayload = z.strictObject({
  /** Why the job runs; recorded in the audit event. */
  trigger: z.enum(['schedule', 'startup', 'manual']).default('manual'),
  /** Months of audit partitions to ensure ahead of the current one; default: audit.partitions_ahead. */
  partitions_ahead: z.int().min(0).max(36).optional(),
});

export const contentPurgePayload = z.strictObject({
  /** Why the job runs; recorded in the audit event. */
  trigger: z.enum(['schedule', 'startup', 'manual']).default('manual'),
  /** Rows deleted per statement. */
  batch_size: z.int().min(1).max(100_000).default(1_000),
  /** Statements per run at most; what is left waits for the next run. */
  max_batches: z.int().min(1).max(100_000).default(1_000),
});

export const checkpointsPayload = z.strictObject({
  /** Why the job runs (logged); the shutdown checkpoint is signed directly, not queued. */
  trigger: z.enum(['schedule', 'startup', 'manual']).default('manual'),
});

export const reconcilePayload = z.strictObject({
  /** Why the job runs (only runs that closed something are recorded in the audit trail). */
  trigger: z.enum(['schedule', 'startup', 'manual']).default('manual'),
});

export const siemForwardPayload = z.strictObject({
  /** Why the job runs (passes that moved nothing are not logged). */
  trigger: z.enum(['schedule', 'startup', 'manual']).default('manual'),
});

export const costRollupPayload = z.strictObject({
  /** Why the job runs (logged). */
  trigger: z.enum(['schedule', 'startup', 'manual']).default('manual'),
  /** Compare every day ever recorded rather than the last few weeks. */
  full: z.boolean().default(false),
});

export const budgetAlertsPayload = z.strictObject({
  /** Why the job runs (logged). */
  trigger: z.enum(['schedule', 'startup', 'manual']).default('manual'),
});

export const QUEUES = {
  housekeeping: defineQueue({
    description: 'creates audit partitions ahead of time (hourly and at worker start)',
    schema: housekeepingPayload,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 5_000 },
      // Enough history to investigate, without growing the queue store forever.
      removeOnComplete: { count: 200 },
      removeOnFail: { count: 1_000 },
    },
  }),
  'content-purge': defineQueue({
    description: 'deletes audit content past audit.content_retention_days, in bounded batches (hourly and at worker start)',
    schema: contentPurgePayload,
    defaultJobOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 30_000 },
      removeOnComplete: { count: 200 },
      removeOnFail: { count: 1_000 },
    },
  }),
  checkpoints: defineQueue({
    description: 'signs each tenant audit chain head with the checkpoint key (every 10 minutes and at worker start)',
    schema: checkpointsPayload,
    defaultJobOptions: {
      // A refused chain is a finding for a person, not a glitch a retry fixes; the next run tries again.
      attempts: 1,
      removeOnComplete: { count: 200 },
      removeOnFail: { count: 1_000 },
    },
  }),
  reconcile: defineQueue({
    description: 'closes gateway calls whose end was never recorded (every minute and at worker start)',
    schema: reconcilePayload,
    defaultJobOptions: {
      // The next scheduled run covers the same window again: retrying a failed run is not needed.
      attempts: 1,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 500 },
    },
  }),
  'siem-forward': defineQueue({
    description: 'forwards audit events and signed checkpoints to the SIEM sinks (every 5 seconds and at worker start)',
    schema: siemForwardPayload,
    defaultJobOptions: {
      // Delivery state lives in siem_batches, not in the job: the next pass picks up where this one stopped.
      attempts: 1,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 500 },
    },
  }),
  'cost-rollup': defineQueue({
    description: 'rolls spend_entries up into daily cost_rollups and reconciles them (every two minutes; all days at worker start)',
    schema: costRollupPayload,
    defaultJobOptions: {
      // The next scheduled run compares every recent day again.
      attempts: 1,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 500 },
    },
  }),
  'budget-alerts': defineQueue({
    description: 'announces budgets passing 75, 95 and 100 % (audit event and optional webhook), once each per period (every minute)',
    schema: budgetAlertsPayload,
    defaultJobOptions: {
      // Alerts are recorded before they are announced, so the next run neither repeats nor loses one.
      attempts: 1,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 500 },
    },
  }),
};

export type QueueName = keyof typeof QUEUES;
export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];
/** The payload as a handler receives it (defaults applied). */
export type QueuePayload<Name extends QueueName> = z.output<(typeof QUEUES)[Name]['schema']>;
/** The payload as a producer may write it (defaulted fields optional). */
export type QueuePayloadInput<Name extends QueueName> = z.input<(typeof QUEUES)[Name]['schema']>;
