// Budget alerts (the budget-alerts worker job): each time a person, department or the organisation
// passes 75, 95 or 100 % of a cap in a period, once, a `budget.alert` audit event and, when
// limits.budget_alerts.webhook_url is set, a JSON POST to it.
import { appendAuditEvent } from '@/lib/audit';
import type { GatehouseConfig } from '@/lib/config';
import { dayString } from '@/lib/gateway/limits/periods';
import { insertBudgetAlert, setAlertWebhookStatus, type BudgetAlertRecord } from './repository';
import { ALERT_THRESHOLDS, budgetStandings } from './standings';

const WEBHOOK_TIMEOUT_MS = 5_000;

export interface BudgetAlertRun {
  alerts: (BudgetAlertRecord & { label: string; webhook: string | null })[];
}

function usd(microdollars: bigint): string {
  const cents = microdollars / 10_000n;
  return `$${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;
}

async function sendWebhook(url: string, token: string | undefined, body: unknown): Promise<string> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      redirect: 'manual',
    });
    await response.body?.cancel();
    return response.ok ? `delivered (${response.status})` : `refused (${response.status})`;
  } catch (error) {
    return `failed (${error instanceof Error ? error.message : String(error)})`;
  }
}

export async function runBudgetAlerts(tenantId: string, config: GatehouseConfig, now: Date = new Date()): Promise<BudgetAlertRun> {
  const standings = await budgetStandings(tenantId, config, now);
  const { webhook_url: webhookUrl, webhook_token_env: tokenEnv } = config.limits.budget_alerts;
  const alerts: BudgetAlertRun['alerts'] = [];
  for (const standing of standings) {
    const limit = standing.budget.rule.limit_microdollars;
    for (const subject of standing.subjects) {
      // Only the highest threshold crossed is new news; lower ones still recorded so they never fire late.
      const crossed = ALERT_THRESHOLDS.filter((threshold) => subject.percent >= threshold);
      for (const threshold of crossed) {
        const alert: BudgetAlertRecord = {
          rule: standing.budget.name,
          subject: subject.subject,
          periodStart: dayString(standing.periodStart),
          threshold,
          spentMicrodollars: subject.spentMicrodollars,
          limitMicrodollars: BigInt(limit),
        };
        if (!(await insertBudgetAlert(tenantId, alert))) continue;
        if (threshold !== crossed.at(-1)) continue;
        const { rule } = standing.budget;
        const reason = `${subject.label} has spent ${usd(subject.spentMicrodollars)} of ${usd(BigInt(limit))} (${Number.isFinite(subject.percent) ? subject.percent : 100} %) of the ${rule.period} ${rule.scope} budget ${standing.budget.name}, which resets ${standing.resetsAt.toISOString()}`;
        await appendAuditEvent({
          tenant_id: tenantId,
          event_type: 'budget.alert',
          action: `budget.threshold_${threshold}`,
          outcome: 'success',
          call_source: 'worker',
          target: { type: rule.scope === 'tenant' ? 'tenant' : rule.scope, id: subject.subject, name: subject.label },
          policy: { decision: threshold >= 100 && rule.enforcement === 'strict' ? 'block' : 'allow', rule: standing.budget.name, reason },
          attributes: {
            // Not a cost block: this event reports spend, it does not add any.
            spent_microdollars: Number(subject.spentMicrodollars),
            threshold_percent: threshold,
            limit_microdollars: limit,
            period: rule.period,
            period_start: alert.periodStart,
            resets_at: standing.resetsAt.toISOString(),
            enforcement: rule.enforcement,
            budget_origin: standing.budget.origin,
          },
        });
        let webhook: string | null = null;
        if (webhookUrl) {
          webhook = await sendWebhook(webhookUrl, tokenEnv ? process.env[tokenEnv] : undefined, {
            type: 'budget.alert',
            budget: standing.budget.name,
            scope: rule.scope,
            period: rule.period,
            subject: subject.subject,
            subject_label: subject.label,
            threshold_percent: threshold,
            spent_usd: usd(subject.spentMicrodollars).slice(1),
            limit_usd: usd(BigInt(limit)).slice(1),
            period_start: alert.periodStart,
            resets_at: standing.resetsAt.toISOString(),
            message: reason,
          });
          await setAlertWebhookStatus(tenantId, alert, webhook);
        }
        alerts.push({ ...alert, label: subject.label, webhook });
      }
    }
  }
  return { alerts };
}
