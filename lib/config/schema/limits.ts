import { z } from 'zod';

const nonEmpty = z.string().trim().min(1);

/**
 * Who a limit is checked against. Every condition given must hold; an empty match covers
 * everyone. `role` matches a tenant-wide role and a department-scoped one (`role@department`).
 */
export const limitMatch = z
  .strictObject({
    department: nonEmpty.optional(),
    role: nonEmpty.optional(),
  })
  .prefault({});

const rateRule = z
  .strictObject({
    // Whose requests are counted together: each user on their own, or a whole department.
    scope: z.enum(['user', 'department']),
    match: limitMatch,
    requests_per_minute: z.int().min(1).optional(),
    // Input, cache-write and output tokens (cache reads are cheap and are not counted, as with
    // Anthropic's own limits). Estimated at admission, corrected when the upstream reports usage.
    tokens_per_minute: z.int().min(1).optional(),
  })
  .check((ctx) => {
    if (ctx.value.requests_per_minute === undefined && ctx.value.tokens_per_minute === undefined) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: 'a rate limit needs requests_per_minute, tokens_per_minute or both' });
    }
  });

export const BUDGET_PERIODS = ['daily', 'weekly', 'monthly'] as const;
export const BUDGET_ENFORCEMENTS = ['strict', 'soft'] as const;

/** Names a budget across gatehouse.yaml and the dashboard: a dashboard budget with a YAML budget's id replaces it. */
export const budgetId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 lowercase letters, digits, - or _ (starting with a letter or digit)');

export const budgetRule = z.strictObject({
  // Optional in gatehouse.yaml; names the cap in refusals, alerts and the Budgets page (budgets.<id>).
  id: budgetId.optional(),
  // Whose spend is added up: each user's own, their department's, or the whole organisation's.
  scope: z.enum(['user', 'department', 'tenant']),
  match: limitMatch,
  // Calendar periods in UTC; weeks start on Monday.
  period: z.enum(BUDGET_PERIODS),
  // Integer microdollars (1/1,000,000 USD): 500000000 is $500.
  limit_microdollars: z.int().min(0),
  // Shown to people who reach the limit, after when it resets (e.g. where to ask for more).
  message: z.string().trim().min(1).max(300).optional(),
  // strict: a request is admitted only if its worst case (whole prompt, all of max_tokens) still
  // fits, so the cap is never passed. soft: admitted while spend plus the worst cases in flight
  // is under the cap, and billed what it actually cost; the cap can be passed by at most one
  // request's worst case.
  enforcement: z.enum(BUDGET_ENFORCEMENTS).default('strict'),
});

export const limitsSection = z
  .strictObject({
    rate: z.array(rateRule).default([]),
    budgets: z
      .array(budgetRule)
      .default([])
      .check((ctx) => {
        const seen = new Set<string>();
        ctx.value.forEach((rule, index) => {
          if (rule.id === undefined) return;
          if (seen.has(rule.id)) ctx.issues.push({ code: 'custom', input: rule.id, path: [index, 'id'], message: `budget id "${rule.id}" is used twice` });
          seen.add(rule.id);
        });
      }),
    // Alerts at 75, 95 and 100 % of every budget are audit events (budget.alert); a webhook, when
    // set, also receives each one as JSON (a bearer token from the named variable, if any).
    budget_alerts: z
      .strictObject({
        webhook_url: z.url({ protocol: /^https?$/ }).optional(),
        webhook_token_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
      })
      .prefault({}),
    // POST /v1/messages/count_tokens per user and minute. Counting is free for the user but goes
    // to the upstream on the organisation's account, so it has a limit of its own (not the
    // requests_per_minute of messages, which it would otherwise eat into).
    count_tokens_per_minute: z.int().min(1).default(120),
    // Requests to the skills MCP server (/mcp) per user and minute: every prompts/list, get,
    // resource read and tool call is one.
    mcp_requests_per_minute: z.int().min(1).default(600),
  })
  .prefault({});

export type LimitMatch = z.infer<typeof limitMatch>;
export type RateLimitRule = z.infer<typeof rateRule>;
export type BudgetRule = z.infer<typeof budgetRule>;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];
export type BudgetEnforcement = (typeof BUDGET_ENFORCEMENTS)[number];
export type LimitsConfig = z.infer<typeof limitsSection>;
