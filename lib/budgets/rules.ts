// gatehouse.yaml's limits.budgets merged with the budgets edited in the dashboard. Precedence:
// a dashboard budget whose id equals a YAML budget's id replaces that budget where it stands;
// every other dashboard budget is added after the YAML ones. Deleting the dashboard budget brings
// the YAML one back. Where several budgets cover the same person and period, the lowest cap
// holds (as among YAML budgets).
import type { BudgetRule } from '@/lib/config';
import { budgetRuleName } from '@/lib/gateway/limits/plan';

export interface DashboardBudget {
  id: string;
  version: number;
  rule: BudgetRule & { id: string };
  changedByEmail: string | null;
  changedAt: Date;
}

export interface EffectiveBudget {
  /** As refusals, headers and alerts name it: `budgets.<id>` or `limits.budgets[N]`. */
  name: string;
  id: string | null;
  origin: 'gatehouse.yaml' | 'dashboard';
  /** A dashboard budget standing in for the YAML budget with the same id. */
  overridesYaml: boolean;
  rule: BudgetRule;
  dashboard?: Pick<DashboardBudget, 'version' | 'changedByEmail' | 'changedAt'>;
}

export function mergeBudgets(yaml: readonly BudgetRule[], dashboard: readonly DashboardBudget[]): EffectiveBudget[] {
  const byId = new Map(dashboard.map((budget) => [budget.id, budget]));
  const used = new Set<string>();
  const merged: Omit<EffectiveBudget, 'name'>[] = yaml.map((rule) => {
    const replacement = rule.id ? byId.get(rule.id) : undefined;
    if (!replacement) return { id: rule.id ?? null, origin: 'gatehouse.yaml', overridesYaml: false, rule };
    used.add(replacement.id);
    return { id: replacement.id, origin: 'dashboard', overridesYaml: true, rule: replacement.rule, dashboard: replacement };
  });
  for (const budget of dashboard) {
    if (!used.has(budget.id)) merged.push({ id: budget.id, origin: 'dashboard', overridesYaml: false, rule: budget.rule, dashboard: budget });
  }
  return merged.map((budget, index) => ({ ...budget, name: budgetRuleName(budget.rule, index) }));
}
