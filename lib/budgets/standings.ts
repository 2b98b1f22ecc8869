import type { GatehouseConfig } from '@/lib/config';
import { periodBounds } from '@/lib/gateway/limits/periods';
import { matchesSubject } from '@/lib/gateway/limits/plan';
import { budgetSubjectUsers, departmentSlugs, loadDashboardBudgets, spendBySubject } from './repository';
import { mergeBudgets, type EffectiveBudget } from './rules';

/** Alerts fire as spend crosses each of these shares of a cap. */
export const ALERT_THRESHOLDS = [75, 95, 100] as const;

export interface SubjectStanding {
  /** user id, department slug or 'tenant' */
  subject: string;
  label: string;
  spentMicrodollars: bigint;
  /** Of the cap, one decimal; Infinity for a zero cap with spend. */
  percent: number;
}

export interface BudgetStanding {
  budget: EffectiveBudget;
  periodStart: Date;
  resetsAt: Date;
  /** Everyone the cap holds, fullest first (users and departments without spend are at 0 %). */
  subjects: SubjectStanding[];
}

export function percentOf(spent: bigint, limit: number): number {
  if (limit <= 0) return spent > 0n ? Number.POSITIVE_INFINITY : 0;
  return Math.floor(Number((spent * 1000n) / BigInt(limit))) / 10;
}

/** Every budget in force (YAML and dashboard, merged) with how far each person, department or the organisation has used it. */
export async function budgetStandings(tenantId: string, config: GatehouseConfig, now: Date = new Date()): Promise<BudgetStanding[]> {
  const budgets = mergeBudgets(config.limits.budgets, await loadDashboardBudgets(tenantId));
  if (!budgets.length) return [];
  const [users, departments] = await Promise.all([budgetSubjectUsers(tenantId), departmentSlugs(tenantId)]);
  const spendCache = new Map<string, Promise<Map<string, bigint>>>();
  const spend = (scope: 'user' | 'department' | 'tenant', start: Date, end: Date) => {
    const key = `${scope}:${start.toISOString()}`;
    if (!spendCache.has(key)) spendCache.set(key, spendBySubject(tenantId, scope, start, end));
    return spendCache.get(key)!;
  };

  return Promise.all(
    budgets.map(async (budget) => {
      const { rule } = budget;
      const bounds = periodBounds(rule.period, now);
      const spent = await spend(rule.scope, bounds.start, bounds.end);
      let candidates: { subject: string; label: string }[];
      if (rule.scope === 'tenant') candidates = [{ subject: 'tenant', label: 'Whole organisation' }];
      else if (rule.scope === 'department') {
        candidates = departments.filter((department) => rule.match.department === undefined || rule.match.department === department.slug).map((department) => ({ subject: department.slug, label: department.name }));
      } else {
        candidates = users.filter((user) => matchesSubject(rule.match, { department: user.department, roles: user.roles })).map((user) => ({ subject: user.id, label: user.email }));
      }
      const subjects = candidates
        .map((candidate) => {
          const used = spent.get(candidate.subject) ?? 0n;
          return { ...candidate, spentMicrodollars: used, percent: percentOf(used, rule.limit_microdollars) };
        })
        .sort((a, b) => b.percent - a.percent || a.label.localeCompare(b.label));
      return { budget, periodStart: bounds.start, resetsAt: bounds.end, subjects };
    }),
  );
}
