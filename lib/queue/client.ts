import {
  createPostgresBackend,
  Queue,
  UnrecoverableError,
  Worker,
  type Job,
  type JobProgress,
  type JobsOptions,
  type PostgresConnectionOptions,
  type PostgresQueueBackend,
  type RepeatOptions,
} from 'bullmq';
import { QUEUES, type QueueName, type QueuePayload, type QueuePayloadInput } from '@/workers/queues';
import { postgresConnection, queueBackendFromEnv, redisConnection, type QueueBackendKind, type QueueBackendSettings } from './connection';

// BullMQ's generics cannot follow a payload type chosen by a generic queue name, and its classes
// are invariant in their backend type. Payloads are checked with zod at both ends instead, so
// internally a job's data is `unknown` and "a queue of either backend" is a union.
type RedisQueue = Queue<unknown, unknown, string>;
type PostgresQueue = Queue<unknown, unknown, string, unknown, unknown, string, PostgresQueueBackend, PostgresConnectionOptions>;
export type AnyQueue = RedisQueue | PostgresQueue;
type RedisWorker = Worker<unknown, unknown, string>;
type PostgresWorker = Worker<unknown, unknown, string, PostgresQueueBackend, JobProgress, PostgresConnectionOptions>;
export type AnyWorker = RedisWorker | PostgresWorker;
export type JobHandler<Name extends QueueName> = (payload: QueuePayload<Name>, job: Job) => Promise<unknown>;

export interface WorkerOptions {
  concurrency?: number;
}

/** A payload that does not match its queue's schema. */
export class QueuePayloadError extends Error {
  constructor(queue: QueueName, details: string) {
    super(`invalid payload for queue "${queue}": ${details}`);
    this.name = 'QueuePayloadError';
  }
}

function parsePayload<Name extends QueueName>(name: Name, payload: unknown): QueuePayload<Name> {
  const result = QUEUES[name].schema.safeParse(payload);
  if (!result.success) {
    throw new QueuePayloadError(name, result.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; '));
  }
  return result.data as QueuePayload<Name>;
}

/**
 * Typed access to the queues in workers/queues.ts on one backend. It keeps one Queue per name
 * (producers reuse connections) and tracks the workers it starts, so close() shuts down all of it.
 */
export class QueueClient {
  readonly backend: QueueBackendKind;
  private readonly queues = new Map<QueueName, AnyQueue>();
  private readonly workers: AnyWorker[] = [];

  constructor(readonly settings: QueueBackendSettings) {
    this.backend = settings.kind;
  }

  /** The BullMQ queue behind a name (created on first use), e.g. for counts or cleanup. */
  queue(name: QueueName): AnyQueue {
    const existing = this.queues.get(name);
    if (existing) return existing;
    const defaultJobOptions = QUEUES[name].defaultJobOptions;
    let created: AnyQueue;
    if (this.settings.kind === 'redis') {
      created = new Queue<unknown, unknown, string>(name, { connection: redisConnection(this.settings.url, 'producer'), prefix: this.settings.prefix, defaultJobOptions });
    } else {
      created = new Queue<unknown, unknown, string, unknown, unknown, string, PostgresQueueBackend, PostgresConnectionOptions>(
        name,
        { connection: postgresConnection(this.settings.databaseUrl, this.settings.schema), defaultJobOptions },
        createPostgresBackend,
      );
    }
    this.queues.set(name, created);
    return created;
  }

  /** Validates the payload (throwing QueuePayloadError) before anything reaches the backend. */
  async enqueue<Name extends QueueName>(name: Name, payload: QueuePayloadInput<Name>, options?: JobsOptions): Promise<Job> {
    const data = parsePayload(name, payload);
    return this.queue(name).add(name, data, options);
  }

  /**
   * Creates or updates a repeatable job. The scheduler id is stable, so calling this at every
   * start replaces the schedule instead of stacking duplicates.
   */
  async schedule<Name extends QueueName>(name: Name, schedulerId: string, repeat: Omit<RepeatOptions, 'key'>, payload: QueuePayloadInput<Name>): Promise<void> {
    const data = parsePayload(name, payload);
    await this.queue(name).upsertJobScheduler(schedulerId, repeat, { name, data });
  }

  /**
   * Starts processing a queue. Payloads are validated again on receipt: a job written by an
   * older build or by hand fails at once without retries, instead of failing deep in the handler.
   */
  createWorker<Name extends QueueName>(name: Name, handler: JobHandler<Name>, options: WorkerOptions = {}): AnyWorker {
    const processJob = async (job: Job) => {
      let payload: QueuePayload<Name>;
      try {
        payload = parsePayload(name, job.data);
      } catch (error) {
        throw new UnrecoverableError((error as Error).message);
      }
      return handler(payload, job);
    };
    const concurrency = options.concurrency ?? 1;
    let worker: AnyWorker;
    if (this.settings.kind === 'redis') {
      worker = new Worker<unknown, unknown, string>(name, processJob, { connection: redisConnection(this.settings.url, 'worker'), prefix: this.settings.prefix, concurrency });
    } else {
      worker = new Worker<unknown, unknown, string, PostgresQueueBackend, JobProgress, PostgresConnectionOptions>(
        name,
        processJob,
        { connection: postgresConnection(this.settings.databaseUrl, this.settings.schema), concurrency },
        createPostgresBackend,
      );
    }
    // A Worker with no 'error' listener would crash the process on a dropped connection, which
    // BullMQ reconnects from by itself.
    worker.on('error', (error: Error) => console.error(`queue ${name}: ${error.message}`));
    this.workers.push(worker);
    return worker;
  }

  /** Workers first (letting running jobs finish), then the producers. */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((worker) => worker.close()));
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

// One client per process, on globalThis so Next's dev reloads reuse its connections.
const globalClient = globalThis as typeof globalThis & { __gatehouseQueueClient?: QueueClient };

/** The process's queue client on the backend chosen by the environment (REDIS_URL or DATABASE_URL). */
export function queueClient(): QueueClient {
  globalClient.__gatehouseQueueClient ??= new QueueClient(queueBackendFromEnv());
  return globalClient.__gatehouseQueueClient;
}

export function enqueue<Name extends QueueName>(name: Name, payload: QueuePayloadInput<Name>, options?: JobsOptions): Promise<Job> {
  return queueClient().enqueue(name, payload, options);
}

export function createWorker<Name extends QueueName>(name: Name, handler: JobHandler<Name>, options?: WorkerOptions): AnyWorker {
  return queueClient().createWorker(name, handler, options);
}

export async function closeQueueClient(): Promise<void> {
  const client = globalClient.__gatehouseQueueClient;
  globalClient.__gatehouseQueueClient = undefined;
  await client?.close();
}
