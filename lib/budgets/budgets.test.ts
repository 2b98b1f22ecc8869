import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminActor } from '@/lib/admin/actor';
import { closeAuditWriter } from '@/lib/audit';
import { parseGatehouseConfig, type BudgetRule, type GatehouseConfig } from '@/lib/config';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { GatewayLimits, MemoryLimitStore, postgresSpendLedger } from '@/lib/gateway/limits';
import { limitsConfig, testCaller, testDecision, testPrincipal } from '@/lib/gateway/limits/testing/fixtures';
import { ForbiddenError } from '@/lib/rbac/errors';
import { budgetForm, deleteBudget, saveBudget, usdToMicrodollars } from './admin';
import { runBudgetAlerts } from './alerts';
import { effectiveSnapshot, refreshDashboardBudgets, withDashboardBudgets } from './effective';
import { budgetHistory, loadDashboardBudgets } from './repository';
import { mergeBudgets, type DashboardBudget } from './rules';
import { budgetStandings, percentOf } from './standings';

let tenantId: string;
let finance: AdminActor;
let reader: AdminActor;
let adaId: string;
let bobId: string;
const suffix = randomBytes(3).toString('hex');

const rule = (overrides: Partial<BudgetRule>): BudgetRule => ({ scope: 'user', period: 'monthly', limit_microdollars: 10_000_000, enforcement: 'strict', match: {}, ...overrides });

async function events(action: string): Promise<{ outcome: string; event: { attributes?: Record<string, unknown>; policy?: { rule?: string; reason?: string } } }[]> {
  const { rows } = await pool().query('SELECT outcome, event FROM audit_events WHERE tenant_id = $1 AND action = $2 ORDER BY seq', [tenantId, action]);
  return rows;
}

async function spend(userId: string, department: string | null, cost: number): Promise<void> {
  await postgresSpendLedger.record({
    callId: randomUUID(), traceId: randomBytes(16).toString('hex'), tenantId, userId, department, model: 'claude-sonnet-4-5', upstream: null,
    at: new Date(), usage: null, costMicrodollars: cost, usageEstimated: false, outcome: 'success', recordedBy: 'gateway',
  });
}

beforeAll(async () => {
  tenantId = (await db().tenant.create({ data: { slug: `budgets-${suffix}`, name: 'Budgets tests' } })).id;
  const research = await db().department.create({ data: { tenantId, slug: 'research', name: 'Research' } });
  const financeRole = await db().role.create({ data: { tenantId, name: 'finance', permissions: ['costs.read', 'costs.admin'] } });
  const readerRole = await db().role.create({ data: { tenantId, name: 'reader', permissions: ['costs.read'] } });
  const member = await db().role.create({ data: { tenantId, name: 'member', permissions: [] } });
  const financeUser = await db().user.create({ data: { tenantId, email: `fin-${suffix}@example.test`, name: 'Fin', roleBindings: { create: [{ roleId: financeRole.id }] } } });
  const readerUser = await db().user.create({ data: { tenantId, email: `read-${suffix}@example.test`, name: 'Reader', roleBindings: { create: [{ roleId: readerRole.id }] } } });
  adaId = (await db().user.create({ data: { tenantId, email: `ada-${suffix}@example.test`, name: 'Ada', departmentId: research.id, roleBindings: { create: [{ roleId: member.id }] } } })).id;
  bobId = (await db().user.create({ data: { tenantId, email: `bob-${suffix}@example.test`, name: 'Bob', roleBindings: { create: [{ roleId: member.id }] } } })).id;
  finance = { userId: financeUser.id, tenantId, email: financeUser.email, roles: ['finance'] };
  reader = { userId: readerUser.id, tenantId, email: readerUser.email, roles: ['reader'] };
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('merging dashboard budgets with gatehouse.yaml', () => {
  it('lets a dashboard budget with a YAML id replace it in place, and adds the others after', () => {
    const yaml = [rule({ id: 'team', limit_microdollars: 1 }), rule({ scope: 'tenant' })];
    const dashboard: DashboardBudget[] = [
      { id: 'extra', version: 1, rule: { ...rule({ period: 'daily' }), id: 'extra' }, changedByEmail: 'f@example.test', changedAt: new Date() },
      { id: 'team', version: 3, rule: { ...rule({ limit_microdollars: 5 }), id: 'team' }, changedByEmail: 'f@example.test', changedAt: new Date() },
    ];
    const merged = mergeBudgets(yaml, dashboard);
    expect(merged.map((budget) => [budget.name, budget.origin, budget.overridesYaml, budget.rule.limit_microdollars])).toEqual([
      ['budgets.team', 'dashboard', true, 5],
      ['limits.budgets[1]', 'gatehouse.yaml', false, 10_000_000],
      ['budgets.extra', 'dashboard', false, 10_000_000],
    ]);
  });

  it('reads amounts in dollars exactly and refuses anything else', () => {
    expect(usdToMicrodollars('1,250.50')).toBe(1_250_500_000);
    expect(usdToMicrodollars('$0.000001')).toBe(1);
    expect(usdToMicrodollars('1e3')).toBeNull();
    expect(usdToMicrodollars('-5')).toBeNull();
    expect(percentOf(7_500_000n, 10_000_000)).toBe(75);
    expect(percentOf(1n, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses a duplicate id in gatehouse.yaml', () => {
    expect(() => parseGatehouseConfig('limits:\n  budgets:\n    - { id: a, scope: user, period: daily, limit_microdollars: 1 }\n    - { id: a, scope: user, period: daily, limit_microdollars: 2 }\n', 'gatehouse.yaml')).toThrow(/used twice/);
  });
});

describe('editing budgets in the dashboard', () => {
  it('keeps every version, audits each change, and refuses someone without costs.admin (audited too)', async () => {
    const form = (overrides: Record<string, string>) => budgetForm.parse({ id: 'research', scope: 'department', period: 'monthly', limit_usd: '500', enforcement: 'strict', department: 'research', role: '', message: '', ...overrides });
    expect(await saveBudget(finance, form({}))).toEqual({ version: 1, created: true });
    expect(await saveBudget(finance, form({ limit_usd: '750.25' }))).toEqual({ version: 2, created: false });
    await expect(saveBudget(reader, form({ limit_usd: '1' }))).rejects.toBeInstanceOf(ForbiddenError);
    expect(await deleteBudget(finance, 'research')).toBe(3);
    expect(await saveBudget(finance, form({ limit_usd: '600' }))).toEqual({ version: 4, created: true });

    const history = await budgetHistory(tenantId);
    expect(history.map((entry) => [entry.version, entry.rule?.limit_microdollars ?? null, entry.changedByEmail])).toEqual([
      [4, 600_000_000, finance.email],
      [3, null, finance.email],
      [2, 750_250_000, finance.email],
      [1, 500_000_000, finance.email],
    ]);
    expect((await loadDashboardBudgets(tenantId)).map((budget) => [budget.id, budget.version, budget.rule.match])).toEqual([['research', 4, { department: 'research' }]]);
    expect((await events('budget.create')).length).toBe(2);
    expect((await events('budget.update')).map((event) => [event.outcome, event.event.attributes?.previous_limit_microdollars ?? null])).toEqual([
      ['success', 500_000_000],
      ['denied', null],
    ]);
    expect((await events('budget.delete')).map((event) => event.outcome)).toEqual(['success']);
    await deleteBudget(finance, 'research');
  });

  it('is enforced by the gateway within the process at once, named by its id, over a YAML budget with the same id', async () => {
    const yaml = limitsConfig('limits:\n  budgets:\n    - { id: everyone, scope: tenant, period: daily, limit_microdollars: 100000000000 }\n');
    await saveBudget(finance, budgetForm.parse({ id: 'everyone', scope: 'tenant', period: 'daily', limit_usd: '0', enforcement: 'strict', department: '', role: '', message: 'Ask finance' }));
    const merged: GatehouseConfig = withDashboardBudgets(yaml);
    expect(merged.limits.budgets).toEqual([expect.objectContaining({ id: 'everyone', limit_microdollars: 0 })]);
    // The same object while nothing changes: the gateway's plans are cached per configuration.
    expect(withDashboardBudgets(yaml)).toBe(merged);

    const limits = new GatewayLimits({ store: new MemoryLimitStore(), ledger: postgresSpendLedger, config: () => effectiveSnapshot({ config: yaml }), prefix: `budgets-${suffix}`, logger: { error: () => undefined } });
    const principal = testPrincipal({ tenantId });
    const refused = await limits.admit({ caller: testCaller(principal), model: 'test-model', estimatedInputTokens: 10, maxOutputTokens: 10, decision: testDecision() });
    expect(refused.ok).toBe(false);
    expect(refused.ok ? null : refused.rule).toBe('budgets.everyone');
    await limits.close();

    await deleteBudget(finance, 'everyone');
    await refreshDashboardBudgets(tenantId);
    expect(withDashboardBudgets(yaml)).toBe(yaml);
  });
});

describe('budget standings and alerts', () => {
  it('shows who is near or over, alerts once per threshold and period (audit event and webhook), and never again', async () => {
    const received: { auth: string | undefined; body: Record<string, unknown> }[] = [];
    const server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push({ auth: request.headers.authorization, body: JSON.parse(body) as Record<string, unknown> });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    process.env[`BUDGET_HOOK_TOKEN_${suffix.toUpperCase()}`] = 'hook-secret';
    try {
      const config = limitsConfig(`limits:
  budgets:
    - { id: people, scope: user, period: monthly, limit_microdollars: 10000000 }
    - { scope: department, match: { department: research }, period: monthly, limit_microdollars: 100000000, enforcement: soft }
  budget_alerts: { webhook_url: 'http://127.0.0.1:${port}/hook', webhook_token_env: BUDGET_HOOK_TOKEN_${suffix.toUpperCase()} }
`);
      await spend(adaId, 'research', 8_000_000);
      await spend(bobId, null, 1_000_000);

      const standings = await budgetStandings(tenantId, config);
      const people = standings.find((standing) => standing.budget.name === 'budgets.people')!;
      expect(people.subjects.slice(0, 2).map((subject) => [subject.label, subject.percent])).toEqual([
        [`ada-${suffix}@example.test`, 80],
        [`bob-${suffix}@example.test`, 10],
      ]);
      expect(people.resetsAt.getTime()).toBeGreaterThan(Date.now());
      const research = standings.find((standing) => standing.budget.name === 'limits.budgets[1]')!;
      expect(research.subjects.map((subject) => [subject.subject, subject.percent])).toEqual([['research', 8]]);

      const first = await runBudgetAlerts(tenantId, config);
      expect(first.alerts.map((alert) => [alert.rule, alert.subject, alert.threshold, alert.webhook])).toEqual([['budgets.people', adaId, 75, 'delivered (204)']]);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ auth: 'Bearer hook-secret', body: { type: 'budget.alert', budget: 'budgets.people', threshold_percent: 75, spent_usd: '8.00', limit_usd: '10.00' } });
      expect((await runBudgetAlerts(tenantId, config)).alerts).toEqual([]);

      // Past 100 % in one go: one announcement (100), the 95 % step recorded so it never fires late.
      await spend(adaId, 'research', 2_500_000);
      const second = await runBudgetAlerts(tenantId, config);
      expect(second.alerts.map((alert) => alert.threshold)).toEqual([100]);
      expect((await runBudgetAlerts(tenantId, config)).alerts).toEqual([]);
      const audited = await pool().query<{ action: string; reason: string }>(
        `SELECT action, event->'policy'->>'reason' AS reason FROM audit_events WHERE tenant_id = $1 AND event_type = 'budget.alert' ORDER BY seq`,
        [tenantId],
      );
      expect(audited.rows.map((row) => row.action)).toEqual(['budget.threshold_75', 'budget.threshold_100']);
      expect(audited.rows[1]!.reason).toContain(`ada-${suffix}@example.test has spent $10.50 of $10.00 (105 %)`);
      expect(received).toHaveLength(2);
    } finally {
      server.close();
    }
  });
});
