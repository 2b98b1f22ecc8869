import { loadDocument } from '@/lib/audit';
import { configReloads, policyRuleCounts, type RuleCount } from '@/lib/audit-query';
import { diffConfigs, type ConfigChange } from '@/lib/config/diff';

export interface ReloadEntry {
  eventId: string;
  occurredAt: string;
  outcome: string;
  /** Who changed it: a file edit has no signed-in author; the event says how it came. */
  by: string;
  file: string | null;
  previousVersion: string | null;
  version: string | null;
  /** What changed, leaf by leaf; null when the configurations were not stored (older events, a refused edit). */
  changes: ConfigChange[] | null;
  error: string | null;
}

const MAX_CHANGES_SHOWN = 200;

/** The policy's version history, newest first: every reload with who, when and the diff. */
export async function reloadHistory(tenantId: string, limit = 30): Promise<ReloadEntry[]> {
  const reloads = await configReloads(tenantId, limit);
  return Promise.all(
    reloads.map(async ({ row, event }) => {
      const refs = event.content_refs ?? [];
      let changes: ConfigChange[] | null = null;
      if (row.outcome === 'success' && refs.length === 2) {
        const [before, after] = await Promise.all(refs.map((ref) => loadDocument(tenantId, ref.sha256).catch(() => null)));
        if (before && after) changes = diffConfigs(before, after).slice(0, MAX_CHANGES_SHOWN);
      }
      const attributes = event.attributes ?? {};
      return {
        eventId: row.eventId,
        occurredAt: row.occurredAt,
        outcome: row.outcome,
        by: event.actor?.email ?? (event.call_source === 'system' ? 'file edit, picked up by Gatehouse' : (event.call_source ?? 'unknown')),
        file: event.target?.name ?? null,
        previousVersion: typeof attributes.previous_policy_version === 'string' ? attributes.previous_policy_version : null,
        version: typeof attributes.policy_version === 'string' ? attributes.policy_version : null,
        changes,
        error: event.error?.message ?? null,
      };
    }),
  );
}

export interface RuleSeries {
  rule: string;
  decision: string;
  total: number;
  /** Requests per day, aligned with `days`. */
  perDay: number[];
}

/** Blocked and redacted requests per rule over the last `days` UTC days, busiest rule first. */
export async function ruleActivity(tenantId: string, days: number, now = new Date()): Promise<{ days: string[]; series: RuleSeries[] }> {
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const start = new Date(end.getTime() - days * 86_400_000);
  const dayList = Array.from({ length: days }, (_, index) => new Date(start.getTime() + index * 86_400_000).toISOString().slice(0, 10));
  const counts: RuleCount[] = await policyRuleCounts(tenantId, start, end);
  const byRule = new Map<string, RuleSeries>();
  for (const count of counts) {
    const key = `${count.decision}\u0000${count.rule}`;
    const series = byRule.get(key) ?? { rule: count.rule, decision: count.decision, total: 0, perDay: dayList.map(() => 0) };
    const index = dayList.indexOf(count.day);
    if (index >= 0) series.perDay[index]! += count.requests;
    series.total += count.requests;
    byRule.set(key, series);
  }
  return { days: dayList, series: [...byRule.values()].sort((a, b) => b.total - a.total || a.rule.localeCompare(b.rule)) };
}
