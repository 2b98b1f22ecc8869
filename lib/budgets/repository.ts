// Every statement behind budgets: dashboard budget versions, spend per period and subject, alerts.
import { budgetRule, type BudgetRule } from '@/lib/config';
import { pool } from '@/lib/db/client';
import { dayString } from '@/lib/gateway/limits/periods';
import type { DashboardBudget } from './rules';

interface VersionRow {
  budget_id: string;
  version: number;
  rule: unknown;
  changed_by_email: string | null;
  changed_at: Date;
}

function parsedRule(id: string, rule: unknown): (BudgetRule & { id: string }) | null {
  // Stored rules were validated when written; one that no longer validates (a field since
  // removed) is skipped rather than enforced half-understood.
  const parsed = budgetRule.safeParse(rule);
  return parsed.success ? { ...parsed.data, id } : null;
}

/** The current version of every dashboard budget that has not been deleted. */
export async function loadDashboardBudgets(tenantId: string): Promise<DashboardBudget[]> {
  const { rows } = await pool().query<VersionRow>(
    `SELECT DISTINCT ON (budget_id) budget_id, version, rule, changed_by_email, changed_at
       FROM budget_versions WHERE tenant_id = $1
      ORDER BY budget_id, version DESC`,
    [tenantId],
  );
  return rows.flatMap((row) => {
    const rule = row.rule === null ? null : parsedRule(row.budget_id, row.rule);
    return rule ? [{ id: row.budget_id, version: row.version, rule, changedByEmail: row.changed_by_email, changedAt: row.changed_at }] : [];
  });
}

export interface BudgetVersionRecord {
  budgetId: string;
  version: number;
  /** null: this version deleted the budget. */
  rule: BudgetRule | null;
  changedByEmail: string | null;
  changedAt: Date;
}

/** Every edit, newest first. */
export async function budgetHistory(tenantId: string, limit = 100): Promise<BudgetVersionRecord[]> {
  const { rows } = await pool().query<VersionRow>(
    'SELECT budget_id, version, rule, changed_by_email, changed_at FROM budget_versions WHERE tenant_id = $1 ORDER BY changed_at DESC, version DESC LIMIT $2',
    [tenantId, limit],
  );
  return rows.map((row) => ({ budgetId: row.budget_id, version: row.version, rule: row.rule === null ? null : parsedRule(row.budget_id, row.rule), changedByEmail: row.changed_by_email, changedAt: row.changed_at }));
}

/** The latest version of one budget (null rule: deleted), or null when it was never edited here. */
export async function latestBudgetVersion(tenantId: string, budgetId: string): Promise<{ version: number; rule: unknown } | null> {
  const { rows } = await pool().query<{ version: number; rule: unknown }>(
    'SELECT version, rule FROM budget_versions WHERE tenant_id = $1 AND budget_id = $2 ORDER BY version DESC LIMIT 1',
    [tenantId, budgetId],
  );
  return rows[0] ?? null;
}

/**
 * Adds a version (the next number; null rule deletes). Two editors saving at once cannot both
 * take the same number: the primary key refuses the second, which is told to reload.
 */
export async function insertBudgetVersion(tenantId: string, budgetId: string, rule: BudgetRule | null, actor: { userId: string; email: string }): Promise<number> {
  const { rows } = await pool().query<{ version: number }>(
    `INSERT INTO budget_versions (tenant_id, budget_id, version, rule, changed_by, changed_by_email)
     SELECT $1, $2, coalesce(max(version), 0) + 1, $3::jsonb, $4, $5 FROM budget_versions WHERE tenant_id = $1 AND budget_id = $2
     RETURNING version`,
    [tenantId, budgetId, rule === null ? null : JSON.stringify(rule), actor.userId, actor.email],
  );
  return rows[0]!.version;
}

/** Spend in [start, end) per subject of the scope: user id, department slug, or 'tenant'. */
export async function spendBySubject(tenantId: string, scope: 'user' | 'department' | 'tenant', start: Date, end: Date): Promise<Map<string, bigint>> {
  const subject = scope === 'user' ? 'user_id::text' : scope === 'department' ? "coalesce(department, '')" : "'tenant'";
  const { rows } = await pool().query<{ subject: string; spent: string }>(
    `SELECT ${subject} AS subject, sum(cost_microdollars)::text AS spent FROM spend_ledger
      WHERE tenant_id = $1 AND day >= $2::date AND day < $3::date GROUP BY 1`,
    [tenantId, dayString(start), dayString(end)],
  );
  return new Map(rows.map((row) => [row.subject, BigInt(row.spent)]));
}

export interface BudgetAlertRecord {
  rule: string;
  subject: string;
  periodStart: string;
  threshold: number;
  spentMicrodollars: bigint;
  limitMicrodollars: bigint;
}

/** Records an alert once; true when it is new (and so to be announced). */
export async function insertBudgetAlert(tenantId: string, alert: BudgetAlertRecord): Promise<boolean> {
  const { rowCount } = await pool().query(
    `INSERT INTO budget_alerts (tenant_id, rule, subject, period_start, threshold, spent_microdollars, limit_microdollars)
     VALUES ($1, $2, $3, $4::date, $5, $6, $7) ON CONFLICT DO NOTHING`,
    [tenantId, alert.rule, alert.subject, alert.periodStart, alert.threshold, alert.spentMicrodollars.toString(), alert.limitMicrodollars.toString()],
  );
  return rowCount === 1;
}

export async function setAlertWebhookStatus(tenantId: string, alert: BudgetAlertRecord, status: string): Promise<void> {
  await pool().query(
    'UPDATE budget_alerts SET webhook_status = $6 WHERE tenant_id = $1 AND rule = $2 AND subject = $3 AND period_start = $4::date AND threshold = $5',
    [tenantId, alert.rule, alert.subject, alert.periodStart, alert.threshold, status.slice(0, 500)],
  );
}

export interface StoredBudgetAlert extends BudgetAlertRecord {
  alertedAt: Date;
  webhookStatus: string | null;
}

export async function recentBudgetAlerts(tenantId: string, limit = 20): Promise<StoredBudgetAlert[]> {
  const { rows } = await pool().query<{ rule: string; subject: string; period_start: string; threshold: number; spent: string; cap: string; alerted_at: Date; webhook_status: string | null }>(
    `SELECT rule, subject, to_char(period_start, 'YYYY-MM-DD') AS period_start, threshold, spent_microdollars::text AS spent,
            limit_microdollars::text AS cap, alerted_at, webhook_status
       FROM budget_alerts WHERE tenant_id = $1 ORDER BY alerted_at DESC LIMIT $2`,
    [tenantId, limit],
  );
  return rows.map((row) => ({
    rule: row.rule,
    subject: row.subject,
    periodStart: row.period_start,
    threshold: row.threshold,
    spentMicrodollars: BigInt(row.spent),
    limitMicrodollars: BigInt(row.cap),
    alertedAt: row.alerted_at,
    webhookStatus: row.webhook_status,
  }));
}

export interface BudgetSubjectUser {
  id: string;
  email: string;
  department: string | null;
  roles: string[];
}

/** Active users with their department slug and role labels (`role`, `role@department`), to match budgets. */
export async function budgetSubjectUsers(tenantId: string): Promise<BudgetSubjectUser[]> {
  const { rows } = await pool().query<{ id: string; email: string; department: string | null; roles: string[] | null }>(
    `SELECT u.id::text, u.email, d.slug AS department,
            array_remove(array_agg(CASE WHEN b.department_id IS NULL THEN r.name ELSE r.name || '@' || bd.slug END), NULL) AS roles
       FROM users u
       LEFT JOIN departments d ON d.id = u.department_id
       LEFT JOIN role_bindings b ON b.user_id = u.id
       LEFT JOIN roles r ON r.id = b.role_id
       LEFT JOIN departments bd ON bd.id = b.department_id
      WHERE u.tenant_id = $1 AND u.status = 'active'
      GROUP BY u.id, u.email, d.slug`,
    [tenantId],
  );
  return rows.map((row) => ({ id: row.id, email: row.email, department: row.department, roles: row.roles ?? [] }));
}

export async function departmentSlugs(tenantId: string): Promise<{ slug: string; name: string }[]> {
  const { rows } = await pool().query<{ slug: string; name: string }>('SELECT slug, name FROM departments WHERE tenant_id = $1 ORDER BY slug', [tenantId]);
  return rows;
}
