// Editing budgets in the dashboard (costs.admin): every save is a new version, every change and
// every refused attempt an `admin.change` event.
import { z } from 'zod';
import type { AdminActor } from '@/lib/admin/actor';
import { recordAdminChange } from '@/lib/admin/audit';
import { requireAdmin } from '@/lib/admin/guard';
import { BUDGET_ENFORCEMENTS, BUDGET_PERIODS, budgetId, budgetRule, type BudgetRule } from '@/lib/config';
import { UserInputError } from '@/lib/users/tenant';
import { refreshDashboardBudgets } from './effective';
import { insertBudgetVersion, latestBudgetVersion } from './repository';

/** "500", "1,250.50", "$0.25" → integer microdollars; at most six decimal places. */
export function usdToMicrodollars(text: string): number | null {
  const cleaned = text.trim().replace(/^\$/, '').replaceAll(',', '');
  const match = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(cleaned);
  if (!match) return null;
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value));

/** The dashboard's budget form, as posted. */
export const budgetForm = z.object({
  id: budgetId,
  scope: z.enum(['user', 'department', 'tenant']),
  period: z.enum(BUDGET_PERIODS),
  limit_usd: z.string().transform((value, ctx) => {
    const microdollars = usdToMicrodollars(value);
    if (microdollars === null) {
      ctx.addIssue({ code: 'custom', message: 'the limit must be an amount in US dollars, like 500 or 12.50' });
      return z.NEVER;
    }
    return microdollars;
  }),
  enforcement: z.enum(BUDGET_ENFORCEMENTS),
  department: optionalText,
  role: optionalText,
  message: optionalText,
});
export type BudgetFormInput = z.output<typeof budgetForm>;

function toRule(input: BudgetFormInput): BudgetRule {
  const candidate = {
    id: input.id,
    scope: input.scope,
    period: input.period,
    limit_microdollars: input.limit_usd,
    enforcement: input.enforcement,
    match: { ...(input.department ? { department: input.department } : {}), ...(input.role ? { role: input.role } : {}) },
    ...(input.message ? { message: input.message } : {}),
  };
  // The same rules as gatehouse.yaml's limits.budgets, so a dashboard budget is never one the file would refuse.
  const parsed = budgetRule.safeParse(candidate);
  if (!parsed.success) throw new UserInputError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'budget'}: ${issue.message}`).join('; '));
  return parsed.data;
}

function ruleAttributes(rule: BudgetRule): Record<string, string | number> {
  return {
    scope: rule.scope,
    period: rule.period,
    limit_microdollars: rule.limit_microdollars,
    enforcement: rule.enforcement,
    ...(rule.match.department ? { match_department: rule.match.department } : {}),
    ...(rule.match.role ? { match_role: rule.match.role } : {}),
  };
}

/** Creates a budget or adds a new version of it; returns the version and whether it existed. */
export async function saveBudget(actor: AdminActor, input: BudgetFormInput): Promise<{ version: number; created: boolean }> {
  await requireAdmin(actor, 'costs.admin', undefined, 'budget.update', { type: 'budget', id: input.id });
  const rule = toRule(input);
  const previous = await latestBudgetVersion(actor.tenantId, input.id);
  const created = !previous || previous.rule === null;
  const version = await insertBudgetVersion(actor.tenantId, input.id, rule, { userId: actor.userId, email: actor.email });
  const before = previous?.rule ? budgetRule.safeParse(previous.rule) : null;
  await recordAdminChange(actor, created ? 'budget.create' : 'budget.update', { type: 'budget', id: input.id, name: `budgets.${input.id}` }, {
    version,
    ...ruleAttributes(rule),
    ...(before?.success ? { previous_limit_microdollars: before.data.limit_microdollars } : {}),
  });
  await refreshDashboardBudgets(actor.tenantId);
  return { version, created };
}

/** Deletes a dashboard budget (a version with no rule); a YAML budget it replaced applies again. */
export async function deleteBudget(actor: AdminActor, id: string): Promise<number> {
  await requireAdmin(actor, 'costs.admin', undefined, 'budget.delete', { type: 'budget', id });
  const previous = await latestBudgetVersion(actor.tenantId, id);
  if (!previous || previous.rule === null) throw new UserInputError(`there is no dashboard budget "${id}" to delete`);
  const version = await insertBudgetVersion(actor.tenantId, id, null, { userId: actor.userId, email: actor.email });
  await recordAdminChange(actor, 'budget.delete', { type: 'budget', id, name: `budgets.${id}` }, { version });
  await refreshDashboardBudgets(actor.tenantId);
  return version;
}
