import type { PolicyConfig } from '@/lib/config';
import { formatMicrodollars } from '@/lib/dashboard/format';
import { parseAttempts } from './attempts';
import { describeDecision } from './decision';
import type { LineageEntry } from './repository';

export type StageKind = 'request' | 'policy' | 'upstream' | 'response' | 'tool' | 'mcp' | 'cost' | 'other';

/** One step of a trace's timeline, in words. */
export interface TimelineStep {
  kind: StageKind;
  title: string;
  detail: string;
  at: string;
  /** The event behind the step, for its drawer; absent for steps derived from another (attempts, cost). */
  eventId?: string;
  tone: 'good' | 'bad' | 'warn' | 'neutral';
}

function money(microdollars: string): string {
  return formatMicrodollars(BigInt(microdollars));
}

/**
 * A trace's lineage (repository.traceLineage) as the steps a reader follows: request → policy →
 * upstream attempts → response → tool calls → MCP invocations → cost. `policies` names the
 * terms behind each policy version's rules (describeDecision).
 */
export function traceTimeline(entries: readonly LineageEntry[], policies: ReadonlyMap<string, PolicyConfig | null>): TimelineStep[] {
  const steps: TimelineStep[] = [];
  const costs: TimelineStep[] = [];
  for (const { row, event, ledger } of entries) {
    const base = { at: row.occurredAt, eventId: row.eventId };
    switch (row.eventType) {
      case 'inference.request':
        steps.push({ ...base, kind: 'request', title: 'Request', tone: 'neutral', detail: [row.actor, row.model, event.attributes?.route ? `route ${event.attributes.route}` : null].filter(Boolean).join(' · ') });
        if (ledger) {
          costs.push({ kind: 'cost', title: 'Cost', at: row.occurredAt, tone: 'neutral', detail: `${money(ledger.costMicrodollars)} billed (${ledger.outcome}, recorded by ${ledger.recordedBy}${ledger.usageEstimated ? ', usage estimated' : ''})` });
        }
        break;
      case 'policy.decision': {
        const words = describeDecision(event, policies.get(event.policy_version ?? '') ?? null) ?? row.action;
        steps.push({ ...base, kind: 'policy', title: 'Policy', tone: event.policy?.decision === 'redact' ? 'warn' : 'bad', detail: words });
        break;
      }
      case 'inference.response': {
        parseAttempts(event.attributes?.attempts).forEach((attempt, index) =>
          steps.push({
            kind: 'upstream',
            title: `Upstream attempt ${index + 1}`,
            at: row.occurredAt,
            tone: attempt.outcome === 'success' ? 'good' : 'bad',
            detail: `${attempt.target} · ${attempt.outcome}${attempt.status ? ` · HTTP ${attempt.status}` : ''}${attempt.durationMs !== null ? ` · ${attempt.durationMs} ms` : ''}`,
          }),
        );
        const tokens = event.gen_ai ? `${event.gen_ai.input_tokens ?? 0} in / ${event.gen_ai.output_tokens ?? 0} out tokens` : null;
        steps.push({
          ...base,
          kind: 'response',
          title: 'Response',
          tone: row.outcome === 'success' ? 'good' : row.outcome === 'unknown' ? 'warn' : 'bad',
          detail: [row.outcome, event.attributes?.status ? `HTTP ${event.attributes.status}` : null, tokens, event.gen_ai?.duration_ms !== undefined ? `${event.gen_ai.duration_ms} ms` : null].filter(Boolean).join(' · '),
        });
        if (!entries.some((entry) => entry.ledger) && row.costMicrodollars) costs.push({ kind: 'cost', title: 'Cost', at: row.occurredAt, tone: 'neutral', detail: `${money(row.costMicrodollars)} (response event)` });
        break;
      }
      case 'mcp.tool_call':
        steps.push({
          ...base,
          kind: event.mcp ? 'mcp' : 'tool',
          title: event.mcp ? 'MCP invocation' : 'Tool call',
          tone: row.outcome === 'success' ? 'good' : 'bad',
          detail: event.mcp ? `${event.mcp.server} · ${event.mcp.method}${event.mcp.tool ? ` · ${event.mcp.tool}` : ''}` : (event.gen_ai?.tool_name ?? row.action),
        });
        break;
      default:
        steps.push({ ...base, kind: 'other', title: row.eventType, tone: row.outcome === 'success' ? 'neutral' : 'bad', detail: row.action });
    }
  }
  return [...steps, ...costs];
}
