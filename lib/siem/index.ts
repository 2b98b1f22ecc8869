// SIEM forwarding: audit events and signed checkpoints to Splunk HEC, Elastic, Datadog, Sumo
// Logic, NDJSON webhooks and OTLP logs. Import from '@/lib/siem'.
export { BATCH_EVENTS, forwardOnce, type ForwardOptions, type ForwardRun } from './forwarder';
export { chunkRecords, retryDelayMs, sendChunk } from './deliver';
export { checkpointEventId, checkpointRecord, eventRecord, redact, wanted, type ForwardRecord } from './records';
export { ecsDocument, VENDORS } from './vendors';
export { dashboardSinkSchema, resolveSink, sealSinkSecret, SinkUnusableError, type DashboardSinkDefinition, type ResolvedSink } from './sinks';
export {
  deleteDashboardSink,
  insertDashboardSink,
  listSinks,
  replaySince,
  retryDeadBatches,
  sinkById,
  sinkHealth,
  type SinkHealth,
  type SinkRow,
} from './repository';
