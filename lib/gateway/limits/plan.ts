import type { BudgetEnforcement, BudgetPeriod, GatehouseConfig, LimitMatch } from '@/lib/config';

export type CounterScope = 'user' | 'department' | 'tenant';
export type RateMetric = 'requests' | 'tokens';

/**
 * One per-minute counter the caller's requests add to. A counter is the same for every rule
 * that names the same scope and metric (it counts what happened, not what a rule allows), so
 * rules can be added or edited without losing counts. `limit` is null when rules only need the
 * counter kept (someone else in the department is limited by it) but none limits this caller.
 */
export interface RateCounterPlan {
  scope: Exclude<CounterScope, 'tenant'>;
  metric: RateMetric;
  limit: number | null;
  /** The binding rule, e.g. `limits.rate[0]`, for errors and audit. */
  rule: string | null;
}

/** One spend counter (scope × calendar period), with the lowest cap any matching budget sets. */
export interface BudgetCounterPlan {
  scope: CounterScope;
  period: BudgetPeriod;
  limit: number | null;
  rule: string | null;
  message: string | null;
  /** How the binding rule holds requests to the limit (strict when there is none). */
  enforcement: BudgetEnforcement;
}

export interface CallerPlan {
  rate: RateCounterPlan[];
  budgets: BudgetCounterPlan[];
}

export interface PlanSubject {
  department: string | null;
  roles: readonly string[];
}

/** A role condition holds for a tenant-wide binding (`role`) and a department one (`role@dept`). */
export function hasRole(roles: readonly string[], role: string): boolean {
  return roles.some((held) => held === role || held.startsWith(`${role}@`));
}

function departmentFits(match: LimitMatch, department: string | null): boolean {
  return match.department === undefined || match.department === department;
}

export function matchesSubject(match: LimitMatch, subject: PlanSubject): boolean {
  return departmentFits(match, subject.department) && (match.role === undefined || hasRole(subject.roles, match.role));
}

/**
 * Whether this caller's requests belong in a counter of `scope`: user counters when some rule of
 * the scope could apply in their department, department counters likewise (and only when they
 * have a department), the tenant counter whenever a tenant rule exists.
 */
function tracked(scope: CounterScope, match: LimitMatch, subject: PlanSubject): boolean {
  if (scope === 'department' && subject.department === null) return false;
  return scope === 'tenant' || departmentFits(match, subject.department);
}

function tighter(current: { limit: number | null }, limit: number): boolean {
  return current.limit === null || limit < current.limit;
}

/** How a budget is named in refusals, headers and alerts: by its id when it has one, else by position in gatehouse.yaml. */
export function budgetRuleName(rule: { id?: string }, index: number): string {
  return rule.id ? `budgets.${rule.id}` : `limits.budgets[${index}]`;
}

/** Which counters a caller adds to and which limits they are held to, under one configuration. */
export function compilePlan(config: GatehouseConfig, subject: PlanSubject): CallerPlan {
  const rate = new Map<string, RateCounterPlan>();
  config.limits.rate.forEach((rule, index) => {
    if (!tracked(rule.scope, rule.match, subject)) return;
    const applies = matchesSubject(rule.match, subject);
    const metrics: [RateMetric, number | undefined][] = [
      ['requests', rule.requests_per_minute],
      ['tokens', rule.tokens_per_minute],
    ];
    for (const [metric, limit] of metrics) {
      if (limit === undefined) continue;
      const key = `${rule.scope}:${metric}`;
      const counter = rate.get(key) ?? { scope: rule.scope, metric, limit: null, rule: null };
      if (applies && tighter(counter, limit)) Object.assign(counter, { limit, rule: `limits.rate[${index}]` });
      rate.set(key, counter);
    }
  });

  const budgets = new Map<string, BudgetCounterPlan>();
  config.limits.budgets.forEach((rule, index) => {
    if (!tracked(rule.scope, rule.match, subject)) return;
    const key = `${rule.scope}:${rule.period}`;
    const counter: BudgetCounterPlan = budgets.get(key) ?? { scope: rule.scope, period: rule.period, limit: null, rule: null, message: null, enforcement: 'strict' };
    if (matchesSubject(rule.match, subject) && tighter(counter, rule.limit_microdollars)) {
      Object.assign(counter, { limit: rule.limit_microdollars, rule: budgetRuleName(rule, index), message: rule.message ?? null, enforcement: rule.enforcement });
    }
    budgets.set(key, counter);
  });

  return { rate: [...rate.values()], budgets: [...budgets.values()] };
}

// Plans depend only on the configuration, the department and the roles: a few distinct ones
// per installation, so they are computed once per configuration and reused for every request.
const plans = new WeakMap<GatehouseConfig, Map<string, CallerPlan>>();
const MAX_PLANS_PER_CONFIG = 10_000;

export function planFor(config: GatehouseConfig, subject: PlanSubject): CallerPlan {
  let byCaller = plans.get(config);
  if (!byCaller) {
    byCaller = new Map();
    plans.set(config, byCaller);
  }
  const key = `${subject.department ?? ''}\u0000${[...subject.roles].sort().join('\u0000')}`;
  let plan = byCaller.get(key);
  if (!plan) {
    plan = compilePlan(config, subject);
    if (byCaller.size >= MAX_PLANS_PER_CONFIG) byCaller.clear();
    byCaller.set(key, plan);
  }
  return plan;
}
