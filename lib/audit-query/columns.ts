import { csvLine } from '@/lib/platform/csv';
import type { AuditRow } from './repository';

/** The columns of the CSV export and the CLI table, in order, with the row field each shows. */
export const AUDIT_COLUMNS = [
  ['occurred_at', 'occurredAt'],
  ['event_id', 'eventId'],
  ['event_type', 'eventType'],
  ['action', 'action'],
  ['outcome', 'outcome'],
  ['actor', 'actor'],
  ['department', 'department'],
  ['model', 'model'],
  ['upstream', 'upstream'],
  ['decision', 'decision'],
  ['rule', 'rule'],
  ['cost_microdollars', 'costMicrodollars'],
  ['trace_id', 'traceId'],
] as const satisfies readonly (readonly [string, keyof AuditRow])[];

export function csvHeader(): string {
  return csvLine(AUDIT_COLUMNS.map(([name]) => name));
}

export function csvRow(row: AuditRow): string {
  return csvLine(AUDIT_COLUMNS.map(([, field]) => row[field]));
}

/** A row as one JSON object with the CSV's column names: `gatehouse audit query --json`. */
export function jsonRow(row: AuditRow): Record<string, string | null> {
  return Object.fromEntries(AUDIT_COLUMNS.map(([name, field]) => [name, row[field]]));
}
