// The audit spine's public API. Import from '@/lib/audit'.
export {
  AUDIT_EVENT_TYPES,
  AUDIT_OUTCOMES,
  AUDIT_SCHEMA_VERSION,
  AuditEventValidationError,
  CONTENT_KINDS,
  GEN_AI_OPERATIONS,
  MAX_EVENT_JSON_BYTES,
  POLICY_DECISIONS,
  newTraceId,
  parseAuditEvent,
  type AuditEvent,
  type AuditEventInput,
  type AuditEventType,
  type AuditOutcome,
  type ContentKind,
} from './event';
export { GENESIS_HASH, canonicalJson, chainHash } from './canonical';
export { AuditWriteError, AuditWriter, type AppendOptions, type AuditWriterOptions, type AuditWriterStats, type StoredAuditEvent } from './writer';
export { appendAuditEvent, appendAuditEvents, auditWriter, closeAuditWriter } from './append';
export {
  ContentIntegrityError,
  ContentPurgeError,
  MAX_CONTENT_BYTES,
  loadContent,
  prepareContent,
  purgeExpiredContent,
  scalarJson,
  storeContent,
  type ContentRef,
  type JsonValue,
  type PreparedContent,
  type PurgeOptions,
  type PurgeResult,
  type StoreContentInput,
  type StoredContent,
} from './content';
export {
  CHAIN_LINK_MEDIA_TYPE,
  MANIFEST_MEDIA_TYPE,
  chainLinkText,
  loadDocument,
  prepareSerialisedManifest,
  serialiseDocument,
  type ManifestInput,
  type PreparedDocument,
  type SerialisedDocument,
  type SplitPlan,
} from './manifest';
export { digestText, type TextDigest } from './digest';
export { verifyAuditChains, verifyChainSegment, type ChainBreak, type ChainPoint, type ChainReport, type VerifyOptions, type VerifyReport } from './verify';
export { signCheckpoints, type CheckpointRun, type SignCheckpointsOptions } from './checkpoints';
export { verifyCheckpoints, type CheckpointReport, type CheckpointTrust } from './checkpoint-verify';
export { CheckpointKeyError, loadCheckpointSigner, pinnedCheckpointKeys, publicKeyPem, type CheckpointSigner, type PinnedKey } from './checkpoint-keys';
export { CheckpointMemory } from './checkpoint-memory';
export { listCheckpoints, type StoredCheckpoint } from './checkpoint-store';
export type { Queryable } from './queryable';
export { countAuditEvent, flushCountedEvents, pendingCountedEvents, DEFAULT_COUNT_WINDOW_MS, type CountedEventInput } from './counted';
