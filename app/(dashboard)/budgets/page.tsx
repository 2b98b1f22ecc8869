import type { Metadata } from 'next';
import { ActionForm } from '@/components/admin/ActionForm';
import { SelectField, TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { BudgetsTable, NearOrOverTable, type BudgetRow, type SubjectRow } from '@/components/budgets/BudgetsTable';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { budgetHistory, recentBudgetAlerts } from '@/lib/budgets/repository';
import { budgetStandings, type BudgetStanding } from '@/lib/budgets/standings';
import { configStore, type BudgetRule } from '@/lib/config';
import { formatMicrodollars, formatUtcTimestamp } from '@/lib/dashboard/format';
import { authorize } from '@/lib/rbac/authorize';
import { deleteBudgetAction, saveBudgetAction } from './actions';

export const metadata: Metadata = { title: 'Budgets' };

function appliesTo(rule: BudgetRule): string {
  const who = rule.scope === 'tenant' ? 'The whole organisation' : rule.scope === 'department' ? 'Each department' : 'Each user';
  const conditions = [rule.match.department ? `in ${rule.match.department}` : null, rule.match.role ? `with role ${rule.match.role}` : null].filter(Boolean);
  return conditions.length ? `${who} ${conditions.join(' ')}` : who;
}

function sourceOf(standing: BudgetStanding): string {
  const { budget } = standing;
  if (budget.origin === 'gatehouse.yaml') return 'gatehouse.yaml';
  const by = budget.dashboard?.changedByEmail ? ` by ${budget.dashboard.changedByEmail}` : '';
  return `${budget.overridesYaml ? 'dashboard, replacing gatehouse.yaml' : 'dashboard'} · v${budget.dashboard?.version ?? 1}${by}`;
}

function budgetRow(standing: BudgetStanding): BudgetRow {
  const { budget, subjects } = standing;
  const fullest = subjects[0];
  return {
    name: budget.name,
    id: budget.id,
    source: sourceOf(standing),
    deletable: budget.origin === 'dashboard',
    appliesTo: appliesTo(budget.rule),
    period: `${budget.rule.period} (UTC)`,
    limitMicrodollars: String(budget.rule.limit_microdollars),
    enforcement: budget.rule.enforcement,
    usedMicrodollars: (fullest?.spentMicrodollars ?? 0n).toString(),
    usedBy: fullest ? (budget.rule.scope === 'tenant' ? 'organisation' : `fullest: ${fullest.label}`) : 'nobody it applies to',
    percent: fullest?.percent ?? 0,
    resetsAt: standing.resetsAt.toISOString(),
    near: subjects.filter((subject) => subject.percent >= 75 && subject.percent < 100).length,
    over: subjects.filter((subject) => subject.percent >= 100).length,
  };
}

const SCOPES = [
  { value: 'user', label: 'Each user' },
  { value: 'department', label: 'Each department' },
  { value: 'tenant', label: 'Whole organisation' },
];
const PERIODS = [
  { value: 'monthly', label: 'Monthly (UTC calendar month)' },
  { value: 'weekly', label: 'Weekly (from Monday, UTC)' },
  { value: 'daily', label: 'Daily (UTC)' },
];
const ENFORCEMENTS = [
  { value: 'strict', label: 'Strict: never passed' },
  { value: 'soft', label: 'Soft: passed by at most one request' },
];

export default async function BudgetsPage() {
  const user = await requireDashboardUser('/budgets');
  const principal = dashboardPrincipal(user);
  if (!(await authorize(principal, 'costs.read'))) return <AccessDenied permission="costs.read" />;
  const [standings, canEdit, history, alerts] = await Promise.all([
    budgetStandings(user.tenantId, configStore().current().config),
    authorize(principal, 'costs.admin'),
    budgetHistory(user.tenantId, 50),
    recentBudgetAlerts(user.tenantId, 20),
  ]);
  const rows = standings.map(budgetRow);
  const nearOrOver: SubjectRow[] = standings.flatMap((standing) =>
    standing.subjects
      .filter((subject) => subject.percent >= 75)
      .map((subject) => ({
        key: `${standing.budget.name}:${subject.subject}`,
        budget: standing.budget.name,
        who: subject.label,
        spentMicrodollars: subject.spentMicrodollars.toString(),
        limitMicrodollars: String(standing.budget.rule.limit_microdollars),
        percent: subject.percent,
      })),
  );

  return (
    <>
      <PageHeader
        title="Budgets"
        description="Every spending cap in force, from gatehouse.yaml's limits.budgets and from this page, with what has been used this period. Periods are UTC calendar days, weeks (from Monday) and months. A budget saved here with the id of a YAML budget replaces it; deleting it brings the YAML one back. Where several caps cover someone, the lowest holds."
      />
      <div className="space-y-6">
        <BudgetsTable rows={rows} deleteAction={canEdit ? deleteBudgetAction : undefined} />
        <Section title="Near or over" description="People, departments or the organisation at 75 % of a cap or more this period. Alerts fire at 75, 95 and 100 %.">
          <NearOrOverTable rows={nearOrOver} />
        </Section>
        {canEdit ? (
          <Section title="Set a budget" description="Creates a budget, or saves a new version of the one with this id (a YAML budget's id replaces it). The gateway enforces it within 10 seconds; every save is kept below and audited.">
            <ActionForm action={saveBudgetAction} label="Set a budget" submitLabel="Save budget" pendingLabel="Saving…">
              <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
                <TextField label="Id" name="id" required placeholder="research-monthly" hint="Lowercase letters, digits, - and _" />
                <SelectField label="Who" name="scope" options={SCOPES} defaultValue="user" />
                <SelectField label="Period" name="period" options={PERIODS} defaultValue="monthly" />
                <TextField label="Limit (USD)" name="limit_usd" required placeholder="500" />
                <TextField label="Only department (slug)" name="department" placeholder="research" hint="Empty: every department" />
                <TextField label="Only role" name="role" placeholder="member" hint="Empty: every role" />
                <SelectField label="Enforcement" name="enforcement" options={ENFORCEMENTS} defaultValue="strict" />
                <TextField label="Message when reached" name="message" placeholder="Ask finance@ for more" />
              </div>
            </ActionForm>
          </Section>
        ) : null}
        <Section title="Recent alerts" description="Each alert is also a budget.alert audit event (and a webhook call when limits.budget_alerts.webhook_url is set).">
          {alerts.length === 0 ? (
            <p className="text-sm text-slate-500">No alerts yet: the worker checks every budget each minute.</p>
          ) : (
            <ul className="divide-y divide-slate-100 text-sm" aria-label="Recent alerts">
              {alerts.map((alert) => (
                <li key={`${alert.rule}:${alert.subject}:${alert.periodStart}:${alert.threshold}`} className="flex flex-wrap justify-between gap-2 py-2">
                  <span>
                    <span className="font-mono text-xs">{alert.rule}</span> · {alert.subject} reached {alert.threshold} % ({formatMicrodollars(alert.spentMicrodollars)} of {formatMicrodollars(alert.limitMicrodollars)})
                  </span>
                  <span className="text-xs text-slate-500">
                    {formatUtcTimestamp(alert.alertedAt.toISOString())}
                    {alert.webhookStatus ? ` · webhook ${alert.webhookStatus}` : ''}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title="History" description="Every version of every budget set here, newest first.">
          {history.length === 0 ? (
            <p className="text-sm text-slate-500">No budget has been set in the dashboard yet.</p>
          ) : (
            <ul className="divide-y divide-slate-100 text-sm" aria-label="Budget history">
              {history.map((entry) => (
                <li key={`${entry.budgetId}:${entry.version}`} className="flex flex-wrap justify-between gap-2 py-2">
                  <span>
                    <span className="font-mono text-xs">budgets.{entry.budgetId}</span> v{entry.version}:{' '}
                    {entry.rule ? `${appliesTo(entry.rule)}, ${entry.rule.period}, ${formatMicrodollars(entry.rule.limit_microdollars)} (${entry.rule.enforcement})` : 'deleted'}
                  </span>
                  <span className="text-xs text-slate-500">
                    {entry.changedByEmail ?? 'unknown'} · {formatUtcTimestamp(entry.changedAt.toISOString())}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
    </>
  );
}
