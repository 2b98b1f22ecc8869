// What the dashboard shows of a sink: plain data and labels, importable by client components.
import type { SiemSinkType } from '@/lib/config/schema/siem';

/** One sink as the dashboard shows it: where it sends, what it sends, and how far behind it is. */
export interface SinkView {
  id: string;
  name: string;
  type: SiemSinkType;
  origin: 'config' | 'dashboard';
  enabled: boolean;
  destination: string;
  filter: string;
  redact: string[];
  lagEvents: number;
  oldestPendingAt: string | null;
  pendingBatches: number;
  retryingBatches: number;
  deadBatches: number;
  deadEvents: number;
  lastDeliveredAt: string | null;
  lastError: string | null;
}

export const SIEM_TYPE_LABELS: Record<SiemSinkType, string> = {
  splunk_hec: 'Splunk HEC',
  elastic: 'Elastic _bulk',
  datadog: 'Datadog Logs',
  sumo: 'Sumo Logic',
  webhook: 'NDJSON webhook',
  otlp_logs: 'OTLP logs',
};
