// Reading the audit trail for people: the explorer (/audit), its trace view, the policy page and
// `gatehouse audit query|export` share these filters, statements and columns.
export { AuditFilterError, FILTER_PARAMS, MAX_EXPORT_RANGE_DAYS, MAX_QUERY_RANGE_DAYS, filterParams, parseAuditFilters, type AuditFilters, type RawFilters } from './filters';
export { decodeCursor, encodeCursor, type Cursor } from './cursor';
export {
  LINEAGE_SQL,
  auditPage,
  configReloads,
  countAuditEvents,
  loadAuditEventDetail,
  policyRuleCounts,
  streamAuditEvents,
  traceLineage,
  type AuditRow,
  type LineageEntry,
  type RuleCount,
  type StoredEventDetail,
} from './repository';
export { AUDIT_COLUMNS, csvHeader, csvRow, jsonRow } from './columns';
export { describeDecision } from './decision';
export { ContentAccessDenied, policyForVersion, viewEventContent, type ContentViewer, type ViewedContent } from './evidence';
export { traceTimeline, type StageKind, type TimelineStep } from './timeline';
export { parseAttempts, type UpstreamAttempt } from './attempts';
