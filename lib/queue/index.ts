export {
  closeQueueClient,
  createWorker,
  enqueue,
  queueClient,
  QueueClient,
  QueuePayloadError,
  type AnyQueue,
  type AnyWorker,
  type JobHandler,
  type WorkerOptions,
} from './client';
export { DEFAULT_REDIS_PREFIX, queueBackendFromEnv, type QueueBackendKind, type QueueBackendSettings } from './connection';
export { queueBackendReady, type QueueBackendHealth } from './health';
