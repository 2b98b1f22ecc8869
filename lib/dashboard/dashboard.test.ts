import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents, closeAuditWriter, type AuditEventInput } from '@/lib/audit';
import { closeDatabase, db } from '@/lib/db/client';
import { postgresSpendLedger } from '@/lib/gateway/limits';
import { activityOverview, overviewRange, parseOverviewWindow, personalOverview, ratePercent, tenantOverview } from './overview';

let tenantId: string;
let otherTenantId: string;
const now = new Date();
const yesterday = new Date(now.getTime() - 24 * 60 * 60 * 1000);

let adaId: string;

function inference(type: 'inference.request' | 'inference.response', occurredAt: Date, microdollars?: number, tenant = tenantId, userId?: string): AuditEventInput {
  return {
    tenant_id: tenant,
    event_type: type,
    action: type === 'inference.request' ? 'messages.create' : 'messages.complete',
    outcome: 'success',
    occurred_at: occurredAt,
    actor: { ...(userId ? { user_id: userId } : {}), email: 'dev@example.test', roles: ['member'] },
    ...(microdollars === undefined ? {} : { cost: { microdollars } }),
  };
}

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  tenantId = (await db().tenant.create({ data: { slug: `dash-${suffix}`, name: 'Dashboard tests' } })).id;
  otherTenantId = (await db().tenant.create({ data: { slug: `dash-other-${suffix}`, name: 'Other tenant' } })).id;
  const department = await db().department.create({ data: { tenantId, slug: 'research', name: 'Research' } });
  const admin = await db().role.create({ data: { tenantId, name: 'admin', permissions: ['users.read'] } });
  const member = await db().role.create({ data: { tenantId, name: 'member', permissions: [] } });
  adaId = (await db().user.create({
    data: {
      tenantId,
      email: `ada-${suffix}@example.test`,
      name: 'Ada',
      departmentId: department.id,
      lastSignInAt: new Date('2026-11-20T08:00:00Z'),
      roleBindings: { create: [{ roleId: admin.id }, { roleId: member.id, departmentId: department.id }] },
    },
  })).id;
  await db().user.create({ data: { tenantId, email: `bob-${suffix}@example.test`, name: 'Bob', status: 'disabled' } });
  await db().user.create({ data: { tenantId: otherTenantId, email: `eve-${suffix}@example.test`, name: 'Eve' } });

  await appendAuditEvents([
    inference('inference.request', now, undefined, tenantId, adaId),
    inference('inference.request', now),
    inference('inference.response', now, 1_250_000, tenantId, adaId),
    inference('inference.response', now, 250_000),
    // Yesterday's and another tenant's traffic must not count.
    inference('inference.request', yesterday),
    inference('inference.response', yesterday, 9_000_000),
    inference('inference.request', now, undefined, otherTenantId),
    { tenant_id: tenantId, event_type: 'admin.change', action: 'user.create', outcome: 'success', occurred_at: now, call_source: 'cli' },
    { ...inference('inference.response', now), outcome: 'failure' },
    // Refusals: one counted event standing for six, and one on its own.
    { tenant_id: tenantId, event_type: 'policy.decision', action: 'content.inspect', outcome: 'denied', occurred_at: now, policy: { decision: 'block', rule: 'policy.blocklist' }, attributes: { count: 6 } },
    { tenant_id: tenantId, event_type: 'policy.decision', action: 'content.inspect', outcome: 'denied', occurred_at: now, policy: { decision: 'block', rule: 'policy.blocklist' } },
  ]);
  // Spend is read from the ledger: Ada's calls now and yesterday.
  for (const [at, cost] of [[now, 3_000_000], [yesterday, 0]] as const) {
    await postgresSpendLedger.record({
      callId: randomUUID(), traceId: randomUUID().replaceAll('-', ''), tenantId, userId: adaId, department: 'research', model: 'm', upstream: null,
      at, usage: null, costMicrodollars: cost, usageEstimated: false, outcome: 'success', recordedBy: 'gateway',
    });
  }
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('overview numbers', () => {
  it('counts the last 24 hours per hour: requests, blocked, errors, spend, and users who made requests (not every account)', async () => {
    const overview = await activityOverview(tenantId, '24h', { now });
    expect(overview.buckets).toHaveLength(24);
    // Three accounts exist in the tenant (one disabled); only Ada made a request (the other request names no user).
    expect(overview.totals).toEqual({ requests: 2, blocked: 7, responses: 3, errors: 1, spendMicrodollars: 3_000_000n, activeUsers: 1, auditEvents: 8 });
    const current = overview.buckets.at(-1)!;
    expect(current).toMatchObject({ requests: 2, blocked: 7, responses: 3, errors: 1, spendMicrodollars: 3_000_000 });
    expect(overview.buckets.slice(0, -1).every((bucket) => bucket.requests === 0 && bucket.spendMicrodollars === 0)).toBe(true);
  });

  it('takes in yesterday over 7 days, in 6-hour buckets', async () => {
    const week = await activityOverview(tenantId, '7d', { now });
    expect(week.buckets).toHaveLength(28);
    expect(week.totals.requests).toBe(3);
    expect(week.totals.spendMicrodollars).toBe(3_000_000n);
  });

  it('gives a user their own figures only', async () => {
    expect((await activityOverview(tenantId, '24h', { userId: adaId, now })).totals).toMatchObject({ requests: 1, responses: 1, spendMicrodollars: 3_000_000n, activeUsers: 1 });
    expect((await activityOverview(tenantId, '24h', { userId: randomUUID(), now })).totals).toMatchObject({ requests: 0, spendMicrodollars: 0n, activeUsers: 0 });
  });

  it("counts today's (UTC) figures for the Connect page the same way", async () => {
    const today = await tenantOverview(tenantId, now);
    expect(today).toMatchObject({ activeUsers: 1, requestsToday: 2, spendTodayMicrodollars: 3_000_000n });
    expect(await personalOverview(tenantId, adaId, now)).toEqual({ requestsToday: 1, spendTodayMicrodollars: 3_000_000n });
  });

  it('reports zero, not nothing, for a quiet tenant', async () => {
    const quiet = await db().tenant.create({ data: { slug: `quiet-${randomUUID().slice(0, 8)}`, name: 'Quiet' } });
    expect((await activityOverview(quiet.id, '24h', { now })).totals).toEqual({ requests: 0, blocked: 0, responses: 0, errors: 0, spendMicrodollars: 0n, activeUsers: 0, auditEvents: 0 });
  });

  it('aligns windows to the hour and reads its parameters strictly', () => {
    const range = overviewRange('24h', new Date('2026-11-25T10:20:00Z'));
    expect([range.start.toISOString(), range.end.toISOString()]).toEqual(['2026-11-24T11:00:00.000Z', '2026-11-25T11:00:00.000Z']);
    expect(parseOverviewWindow('7d')).toBe('7d');
    expect(parseOverviewWindow('1y')).toBe('24h');
    expect(ratePercent(1, 3)).toBe(33.3);
    expect(ratePercent(0, 0)).toBe(0);
  });
});
